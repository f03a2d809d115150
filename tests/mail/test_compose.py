"""Headers safe against CRLF injection, whatever users call themselves or their listings."""

from __future__ import annotations

import email
import uuid
from collections import Counter
from email.policy import default

import pytest
from sqlalchemy import update
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.db import utcnow
from arbibase_chat.mail import compose, dispatcher
from arbibase_chat.models import Property, User
from arbibase_chat.services import email_outbox, messages, ratelimit
from tests.mail.conftest import Collector, premium_pair

EVIL = "Eve\r\nBcc: evil@x"


def _outgoing(**overrides: object) -> email_outbox.Outgoing:
    claim = email_outbox.Claimed(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 1, 1, utcnow())
    fields: dict[str, object] = {
        "claim": claim,
        "recipient_email": "owner@example.com",
        "recipient_name": "Owen",
        "counterparty_name": "Dana",
        "property_title": "3BR near the beach",
        "property_address": "12 Ocean Ave, Miami",
        "messages": (
            email_outbox.ShownMessage(1, "Dana", "Hello\r\nBcc: body@x", "text", utcnow()),
        ),
        "unread_count": 1,
        "through_seq": 1,
        "offer": None,
        "token": "0" * 32,
    }
    fields.update(overrides)
    return email_outbox.Outgoing(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Eve\r\nBcc: evil@x", "Eve Bcc: evil@x"),
        ("a\nb\rc", "a b c"),
        ("nul\x00here", "nul here"),
        ("line\u2028sep\u2029par", "line sep par"),
        ("bidi\u202eevil", "bidi evil"),
        ("tab\tand   spaces ", "tab and spaces"),
        ("x" * 300, "x" * 119 + "…"),
    ],
)
def test_header_text_removes_every_line_break_and_control(raw: str, expected: str) -> None:
    assert compose.header_text(raw) == expected


def test_injected_names_and_titles_add_no_header(mail_env: Collector) -> None:
    message = compose.compose(
        _outgoing(
            counterparty_name=EVIL,
            recipient_name="Owen\nX-Injected: 1",
            property_title="Loft\r\nSubject: free money",
        )
    )
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert len(parsed.get_all("Subject") or []) == 1
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert not line.lower().startswith((b"bcc:", b"x-injected:"))
    assert parsed["Subject"] == "Eve Bcc: evilx: Loft Subject: free money"
    assert parsed["From"].addresses[0].display_name == "Eve Bcc: evilx via ArbiBase"
    # The message text stays in the body, as text.
    assert "Bcc: body@x" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_names_that_look_like_addresses_are_not_addresses(mail_env: Collector) -> None:
    message = compose.compose(_outgoing(counterparty_name='"ceo@bank.com" <ceo@bank.com>'))
    parsed = email.message_from_bytes(message.as_bytes(), policy=default)
    [sender] = parsed["From"].addresses
    assert sender.addr_spec == "notify@arbibase.test"
    assert "@" not in sender.display_name and "<" not in sender.display_name


def test_html_shows_user_text_as_text(mail_env: Collector) -> None:
    message = compose.compose(
        _outgoing(
            messages=(
                email_outbox.ShownMessage(
                    1, "<b>Dana</b>", '<script>alert(1)</script><a href="x">', "text", utcnow()
                ),
            )
        )
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Dana</b>" not in html


async def test_an_injected_display_name_reaches_only_the_recipient(db, mail_env: Collector) -> None:
    """End to end: the sign-up form folds line breaks, but a name or title written by plain SQL
    (or a Supabase client) is not: "Eve\r\nBcc: evil@x" goes to the owner alone, and the
    delivered e-mail has no Bcc header."""
    pair = premium_pair(db)
    with dbmod.write_session(db) as session:
        session.execute(
            update(User).where(col(User.id) == pair.operator.id).values(display_name=EVIL)
        )
        session.execute(
            update(Property)
            .where(col(Property.id) == pair.property.id)
            .values(title="Loft\r\nBcc: evil2@x")
        )
    with ratelimit.use(ratelimit.Unlimited()):
        messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="hi", db=db)
    assert await dispatcher.dispatch_once(db=db) == Counter(sent=1)
    assert mail_env.recipients() == [[pair.owner.email]]
    [mail] = mail_env.messages()
    assert mail["Bcc"] is None
    assert mail["Subject"] == "Eve Bcc: evilx: Loft Bcc: evil2@x"
    raw = mail_env.envelopes[0].original_content
    assert b"\r\nBcc:" not in raw.split(b"\r\n\r\n", 1)[0]
