"""pages/thread_deal.py without a browser: which messages become offer cards, and what they say."""

from __future__ import annotations

from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.components.offer_card import OfferCardView
from arbibase_chat.pages import thread_deal
from arbibase_chat.services import offers
from arbibase_chat.textlinks import segments


def _view(message_id: str, text: str, kind: str = "offer") -> MessageView:
    return MessageView(id=message_id, seq=1, kind=kind, segments=segments(text))


CARD = OfferCardView(
    id="o-1",
    version=2,
    status="sent",
    headline="$2,250/mo · 12 months",
    by="owner",
    rows=[["Rent", "$2,250/mo"]],
    changes=["rent $2,400/mo → $2,250/mo"],
    actions=["accept", "decline", "counter"],
    expires_at="2027-01-01T00:00:00+00:00",
)


def test_only_the_message_an_offer_points_at_becomes_its_card() -> None:
    genuine = _view("m-1", offers.default_body(2, CARD.headline))
    forged = _view("m-2", "Offer v9: $1/mo, accept now")  # kind offer, but no offer row
    text = _view("m-3", "hello", kind="text")
    out = thread_deal.decorate([genuine, forged, text], {"m-1": CARD})
    card = out[0].offer
    assert (
        card is not None and card.id == "o-1" and card.actions == ["accept", "decline", "counter"]
    )
    assert card.note == ""  # the default text only repeats the headline
    assert out[1].offer is None  # a plain bubble
    assert out[2] is text


def test_a_note_written_with_the_offer_stays_on_the_card() -> None:
    [view] = thread_deal.decorate([_view("m-1", "Close! I need $3,500.")], {"m-1": CARD})
    assert view.offer is not None and view.offer.note == "Close! I need $3,500."
    assert CARD.note == ""  # the shared card is not changed


def test_the_counter_form_starts_from_the_terms_as_typed_numbers() -> None:
    class Chat:
        _terms = {"o-1": {"monthlyRent": 2400.0, "leaseMonths": 12, "deposit": 99.5}}

    defaults = thread_deal.counter_defaults(Chat(), "o-1")  # type: ignore[arg-type]
    assert defaults["monthlyRent"] == "2400" and defaults["deposit"] == "99.5"
    assert defaults["leaseMonths"] == "12" and defaults["revenueSharePct"] == ""
    assert thread_deal.terms_from_form(
        {"monthlyRent": " 2,250 ", "model": "guaranteed", "revenueSharePct": "20"}
    ) == {"monthlyRent": "2,250", "model": "guaranteed", "subletClause": False}
