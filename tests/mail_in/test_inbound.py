"""Replies by e-mail through the real listener and a real SMTP client (issue #12): what is
posted, as whom and where, and every refusal as the SMTP reply a mail server gets."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import MessagePublic
from arbibase_chat.services import accounts, events, messages, ratelimit, threads
from arbibase_chat.services.events import MessageCreated
from tests import factories
from tests.mail_in.conftest import (
    MAX_BYTES,
    Listener,
    premium_pair,
    reply,
    reply_address,
    token_for,
)

QUOTED = (
    "Tuesday at 10 works for me. The deposit can be two months.\n"
    "\n"
    "-- \n"
    "Alice Owner\n"
    "\n"
    "On Mon, Dec 1, 2026 at 9:12 AM ArbiBase Chat <notifications@arbibase.test> wrote:\n"
    "> Pia Premium wrote:\n"
    "> Could we see the place on Tuesday? What deposit would you want?\n"
    ">\n"
    "> Reply to this e-mail or open the conversation.\n"
)
NEW_TEXT = "Tuesday at 10 works for me. The deposit can be two months."


def history(db: Engine, pair: factories.Pair) -> list[MessagePublic]:
    return messages.list_messages(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)


async def test_a_reply_posts_as_the_token_user_without_quote_or_signature(
    db: Engine, listener: Listener
) -> None:
    pair = premium_pair(db)
    messages.send_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        body="Could we see the place on Tuesday? What deposit would you want?",
        db=db,
    )
    token = token_for(db, pair.owner.id, pair.thread_id)
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        outcome = await listener.send(
            # The address compares case-insensitively, with a display name around it.
            reply(
                sender=f"Alice Owner <{pair.owner.email.upper()}>",
                to=reply_address(token),
                text=QUOTED,
            )
        )
    finally:
        unsubscribe()
    assert (outcome.stage, outcome.code, outcome.text) == ("data", 250, "2.0.0 Message accepted")
    last = history(db, pair)[-1]
    assert last.body == NEW_TEXT
    assert last.sender_id == pair.owner.id and last.kind == "text"
    assert last.client_msg_id is not None and last.client_msg_id.startswith("email:")
    # Posted through the services: the realtime hub hears it like any send.
    created = [e for e in seen if isinstance(e, MessageCreated)]
    assert [(e.message_id, e.sender_id) for e in created] == [(last.id, pair.owner.id)]


async def test_the_same_email_twice_posts_once(db: Engine, listener: Listener) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    mail = reply(sender=pair.owner.email, to=reply_address(token), text="Deal.")
    for _ in range(2):
        assert (await listener.send(mail)).code == 250
    # No Message-ID: the same content from the same sender to the same address is one too.
    bare = reply(
        sender=pair.owner.email, to=reply_address(token), text="No id here.", message_id=None
    )
    for _ in range(2):
        assert (await listener.send(bare)).code == 250
    assert [m.body for m in history(db, pair)] == ["Deal.", "No id here."]


async def test_a_forged_sender_is_refused_and_nothing_posted(
    db: Engine, listener: Listener
) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    for sender in (
        "Mallory <mallory@example.com>",
        f'"{pair.owner.email}" <mallory@example.com>',  # the address only as a display name
        f"{pair.owner.email}, mallory@example.com",  # two senders
        pair.operator.email,  # the other participant holds no right to the owner's token
    ):
        outcome = await listener.send(
            reply(sender=sender, to=reply_address(token), text="Send the deposit to me."),
            mail_from="mallory@example.com",
        )
        assert (outcome.stage, outcome.code) == ("data", 550), sender
        assert outcome.text.startswith("5.7.1 the sender does not match the reply address")
    assert history(db, pair) == []


async def test_unknown_expired_malformed_tokens_and_other_domains_are_refused_at_rcpt(
    db: Engine, listener: Listener
) -> None:
    pair = premium_pair(db)
    ttl = timedelta(days=get_settings().email_reply_token_ttl_days)
    expired = token_for(db, pair.owner.id, pair.thread_id, now=utcnow() - ttl - timedelta(1))
    valid = token_for(db, pair.owner.id, pair.thread_id)
    for address, words in (
        (reply_address(uuid.uuid4().hex), "unknown or has expired"),
        (reply_address(expired), "unknown or has expired"),
        (reply_address("not-a-token"), "No such reply address"),
        (reply_address(valid + "0"), "No such reply address"),
        (reply_address(valid, domain="evil.example.com"), "No such reply address"),
        (f"owner+{valid}@{listener.domain}", "No such reply address"),
        (f"{valid}@{listener.domain}", "No such reply address"),
    ):
        outcome = await listener.send(
            reply(sender=pair.owner.email, to=address, text="Hello"), rcpt=[address]
        )
        assert (outcome.stage, outcome.code) == ("rcpt", 550), address
        assert outcome.text.startswith("5.1.1") and words in outcome.text, outcome.text
    # The domain and the prefix in capitals are still the reply address.
    shouted = f"REPLY+{valid}@{listener.domain.upper()}"
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=shouted, text="Loud but fine"), rcpt=[shouted]
    )
    assert outcome.code == 250
    assert [m.body for m in history(db, pair)] == ["Loud but fine"]


async def test_one_recipient_per_reply(db: Engine, listener: Listener) -> None:
    pair = premium_pair(db)
    first = reply_address(token_for(db, pair.owner.id, pair.thread_id))
    second = reply_address(token_for(db, pair.owner.id, pair.thread_id))
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=first, text="Twice?"), rcpt=[first, second]
    )
    assert (outcome.stage, outcome.code) == ("rcpt", 452)
    assert outcome.text.startswith("4.5.3 Too many recipients")
    assert history(db, pair) == []


async def test_past_the_burst_a_sender_is_told_to_try_later(db: Engine, listener: Listener) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    with ratelimit.use(ratelimit.LocalBuckets(burst=2, per_second=0.001), kind=ratelimit.EMAIL_IN):
        codes = []
        for n in range(3):
            outcome = await listener.send(
                reply(sender=pair.owner.email, to=reply_address(token), text=f"Reply {n}")
            )
            codes.append(outcome.code)
        assert codes == [250, 250, 451]
        assert outcome.text.startswith("4.7.1 too many e-mail replies from this address")
        assert "try again later" in outcome.text
        # The bucket is the sender's: another sender is not slowed by it.
        stranger = premium_pair(db)
        other = token_for(db, stranger.owner.id, stranger.thread_id)
        mail = reply(sender=stranger.owner.email, to=reply_address(other), text="Mine")
        assert (await listener.send(mail)).code == 250
    assert [m.body for m in history(db, pair)] == ["Reply 0", "Reply 1"]


async def test_below_premium_a_reply_is_refused(db: Engine, listener: Listener) -> None:
    pair = factories.Pair(db)  # Pro: no e-mail fallback
    token = token_for(db, pair.owner.id, pair.thread_id)
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=reply_address(token), text="Can I answer here?")
    )
    assert (outcome.stage, outcome.code) == ("data", 550)
    assert "replying by e-mail is not included in this conversation's plan" in outcome.text
    assert history(db, pair) == []


async def test_a_closed_thread_refuses_with_the_reason(db: Engine, listener: Listener) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="closed", db=db
    )
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=reply_address(token), text="Still interested?")
    )
    assert (outcome.stage, outcome.code) == ("data", 550)
    assert outcome.text == (
        "5.7.1 Reply not posted: This thread is closed; reopen it to send messages"
    )
    # Only the close's own system message: nothing was posted from the e-mail.
    assert [m.kind for m in history(db, pair)] == ["system"]


async def test_an_unverified_owner_is_refused_like_in_the_app(
    db: Engine, listener: Listener
) -> None:
    pair = premium_pair(db, owner_verified=False)
    token = token_for(db, pair.owner.id, pair.thread_id)
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=reply_address(token), text="Yes, it's mine.")
    )
    assert (outcome.stage, outcome.code) == ("data", 550)
    assert "Verify ownership of this property before replying" in outcome.text
    assert history(db, pair) == []


async def test_an_html_only_reply_is_posted_as_text_without_its_quote(
    db: Engine, listener: Listener
) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    html = (
        "<html><head><style>p { color: red }</style></head><body>"
        "<div dir='ltr'>Yes&nbsp;&mdash; <b>$2,400</b> a month is fine.<br>"
        "<ul><li>12 months</li><li>2 months' deposit</li></ul></div>"
        "<div class='gmail_quote'><div class='gmail_attr'>On Mon, Dec 1, 2026 at 9:12 AM "
        "ArbiBase Chat &lt;notifications@arbibase.test&gt; wrote:<br></div>"
        "<blockquote>Would <i>$2,400</i> work?</blockquote></div></body></html>"
    )
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=reply_address(token), html=html)
    )
    assert outcome.code == 250, outcome
    assert history(db, pair)[-1].body == (
        "Yes \u2014 $2,400 a month is fine.\n- 12 months\n- 2 months' deposit"
    )


async def test_a_reply_with_nothing_above_the_quote_is_refused(
    db: Engine, listener: Listener
) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    text = "On Mon, Dec 1, 2026 at 9:12 AM ArbiBase <n@arbibase.test> wrote:\n> Hi\n"
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=reply_address(token), text=text)
    )
    assert (outcome.code, outcome.text) == (
        550,
        "5.6.0 no reply text was found above the quoted message",
    )
    assert history(db, pair) == []


async def test_a_too_large_reply_is_refused(db: Engine, listener: Listener) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    mail = reply(sender=pair.owner.email, to=reply_address(token), text="x " * MAX_BYTES)
    outcome = await listener.send(mail)
    assert (outcome.stage, outcome.code) == ("data", 552)
    assert outcome.text == f"5.3.4 Message too big: replies may be at most {MAX_BYTES} bytes"
    # A client that announces the size is refused before sending it.
    announced = await listener.send(mail, mail_options=[f"SIZE={MAX_BYTES + 1}"])
    assert (announced.stage, announced.code) == ("mail", 552)
    assert history(db, pair) == []


async def test_automatic_replies_are_not_posted(db: Engine, listener: Listener) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    address = reply_address(token)
    for mail, mail_from in (
        (
            reply(
                sender=pair.owner.email, to=address, text="I am away", Auto_Submitted="auto-replied"
            ),
            None,
        ),
        (reply(sender=pair.owner.email, to=address, text="Away", Precedence="bulk"), None),
        (reply(sender=pair.owner.email, to=address, text="Bounced"), ""),  # null sender
    ):
        outcome = await listener.send(mail, mail_from=mail_from)
        assert (outcome.code, outcome.text) == (
            550,
            "5.7.1 Automatic replies are not posted in the conversation",
        )
    assert history(db, pair) == []


async def test_a_token_binds_its_thread(db: Engine, listener: Listener) -> None:
    victim = premium_pair(db)
    # A stranger, owner in a Premium thread of their own, holds a token for their thread only.
    stranger = premium_pair(db)
    theirs = token_for(db, stranger.owner.id, stranger.thread_id)
    outcome = await listener.send(
        reply(
            sender=stranger.owner.email,
            to=reply_address(theirs),
            text="Hijack",
            # Whatever the e-mail says about threads, the token decides where it goes.
            In_Reply_To=f"<thread-{victim.thread_id}@arbibase.test>",
            Subject_Thread=str(victim.thread_id),
        )
    )
    assert outcome.code == 250
    assert history(db, victim) == []
    assert [m.body for m in history(db, stranger)] == ["Hijack"]
    # And the victim's token does nothing for the stranger's address.
    victims = token_for(db, victim.owner.id, victim.thread_id)
    outcome = await listener.send(
        reply(sender=stranger.owner.email, to=reply_address(victims), text="Hijack 2")
    )
    assert (outcome.code, outcome.text.split()[0]) == (550, "5.7.1")
    assert history(db, victim) == []


async def test_a_token_of_a_former_plan_stops_at_the_downgrade(
    db: Engine, listener: Listener
) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    address = reply_address(token)
    assert (await listener.send(reply(sender=pair.owner.email, to=address, text="One"))).code == 250
    accounts.set_tier(email=pair.operator.email, tier="pro", db=db)
    outcome = await listener.send(reply(sender=pair.owner.email, to=address, text="Two"))
    assert outcome.code == 550
    assert [m.body for m in history(db, pair)] == ["One"]


async def test_an_overloaded_worker_asks_for_a_retry_and_stores_nothing(
    db: Engine, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    mail = reply(sender=pair.owner.email, to=reply_address(token), text="Retry me")
    # As many sends in flight as the worker takes (MAX_SENDS_IN_FLIGHT).
    monkeypatch.setattr(aio.sends, "in_flight", get_settings().max_sends_in_flight)
    outcome = await listener.send(mail)
    assert (outcome.code, outcome.text.split()[0]) == (451, "4.3.0")
    assert "nothing was sent" in outcome.text
    assert history(db, pair) == []
    monkeypatch.setattr(aio.sends, "in_flight", 0)
    assert (await listener.send(mail)).code == 250  # the sender's server retried
    assert [m.body for m in history(db, pair)] == ["Retry me"]


async def test_a_reply_longer_than_a_message_is_refused(db: Engine, listener: Listener) -> None:
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    long_text = "word " * 2_500  # 12,500 characters: over a message's 10,000
    outcome = await listener.send(
        reply(sender=pair.owner.email, to=reply_address(token), text=long_text)
    )
    assert (outcome.code, outcome.text.split()[0]) == (550, "5.6.0")
    assert "10000" in outcome.text.replace(",", "")
    assert history(db, pair) == []
