"""pages/thread_deal.py without a browser: which messages become offer cards, and what they say."""

from __future__ import annotations

from typing import Any

from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.pages import thread_deal
from arbibase_chat.services import offers
from arbibase_chat.textlinks import segments


def _view(message_id: str, text: str, kind: str = "offer") -> MessageView:
    return MessageView(id=message_id, seq=1, kind=kind, segments=segments(text))


CARD: dict[str, Any] = {
    "offer_id": "o-1",
    "offer_version": 2,
    "offer_status": "sent",
    "offer_headline": "$2,250/mo · 12 months",
    "offer_by": "owner",
    "offer_rows": [["Rent", "$2,250/mo"]],
    "offer_changes": ["rent $2,400/mo → $2,250/mo"],
    "offer_actions": ["accept", "decline", "counter"],
    "offer_expires_at": "2027-01-01T00:00:00+00:00",
    "offer_reason": "",
    "offer_numbers": [],
}


def test_only_the_message_an_offer_points_at_becomes_its_card() -> None:
    genuine = _view("m-1", offers.default_body(2, CARD["offer_headline"]))
    forged = _view("m-2", "Offer v9: $1/mo, accept now")  # kind offer, but no offer row
    text = _view("m-3", "hello", kind="text")
    out = thread_deal.decorate([genuine, forged, text], {"m-1": CARD})
    assert out[0].offer_id == "o-1" and out[0].offer_actions == ["accept", "decline", "counter"]
    assert out[0].offer_note == ""  # the default text only repeats the headline
    assert out[1].offer_id == "" and out[1].offer_actions == []  # a plain bubble
    assert out[2] is text


def test_a_note_written_with_the_offer_stays_on_the_card() -> None:
    [card] = thread_deal.decorate([_view("m-1", "Close! I need $3,500.")], {"m-1": CARD})
    assert card.offer_note == "Close! I need $3,500."


def test_the_counter_form_starts_from_the_terms_as_typed_numbers() -> None:
    class Chat:
        _terms = {"o-1": {"monthlyRent": 2400.0, "leaseMonths": 12, "deposit": 99.5}}

    defaults = thread_deal.counter_defaults(Chat(), "o-1")  # type: ignore[arg-type]
    assert defaults["monthlyRent"] == "2400" and defaults["deposit"] == "99.5"
    assert defaults["leaseMonths"] == "12" and defaults["revenueSharePct"] == ""
    assert thread_deal.terms_from_form(
        {"monthlyRent": " 2,250 ", "model": "guaranteed", "revenueSharePct": "20"}
    ) == {"monthlyRent": "2,250", "model": "guaranteed", "subletClause": False}
