"""The outbound e-mail bridge against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL:
batching, read meanwhile, exactly once with two workers, a crash after the claim, mute,
opt-out, strangers, the headers mail clients thread by, the .eml fallback, retries."""

from __future__ import annotations

import asyncio
import email
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat import maintenance
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.mail import dispatcher
from arbibase_chat.models import EmailOutbox, MessagingMessage, Participant
from arbibase_chat.services import (
    accounts,
    email_outbox,
    email_tokens,
    messages,
    mutes,
    notification_settings,
    offers,
    properties,
    ratelimit,
    reads,
    threads,
)
from tests import factories
from tests.mail.conftest import PUBLIC_URL, REPLY_DOMAIN, Collector, premium_pair

START = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture(autouse=True)
def _no_send_limit() -> Iterator[None]:
    with ratelimit.use(ratelimit.Unlimited()):
        yield


def _rows(db: Engine) -> list[EmailOutbox]:
    with dbmod.read_session(db) as session:
        return list(session.scalars(select(EmailOutbox).order_by(col(EmailOutbox.created_at))))


def _say(db: Engine, pair: factories.Pair, text: str, *, by: str = "operator") -> int:
    user = pair.operator if by == "operator" else pair.owner
    return messages.send_message(user_id=user.id, thread_id=pair.thread_id, body=text, db=db).seq


def _text(mail: EmailMessage, kind: str) -> str:
    part = mail.get_body((kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


def _later(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


async def test_three_messages_make_one_email_listing_them(db, mail_env: Collector) -> None:
    pair = premium_pair(db)
    for text in ("First, the rent.", "Second, the deposit.", "Third, the start date."):
        last = _say(db, pair, text)
    outcomes = await dispatcher.dispatch_once(db=db)
    assert outcomes == Counter(sent=1)
    assert mail_env.recipients() == [[pair.owner.email]]
    [mail] = mail_env.messages()
    text = _text(mail, "plain")
    assert "3 new messages" in text
    for line in ("First, the rent.", "Second, the deposit.", "Third, the start date."):
        assert line in text
        assert line in _text(mail, "html")
    assert f"{PUBLIC_URL}/threads/{pair.thread_id}" in text
    assert f"{PUBLIC_URL}/settings" in text  # the global opt-out
    [row] = _rows(db)
    assert (row.state, row.through_seq, row.attempts) == ("sent", last, 1)
    assert row.email_message_id == mail["Message-ID"]
    # Nothing more is due: the next pass sends nothing.
    assert await dispatcher.dispatch_once(db=db) == Counter()
    assert len(mail_env.envelopes) == 1


async def test_read_meanwhile_sends_nothing(db, mail_env: Collector) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Are you there?")
    reads.mark_read(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert await dispatcher.dispatch_once(db=db) == Counter(skipped=1)
    assert mail_env.envelopes == []
    [row] = _rows(db)
    assert (row.state, row.note) == ("skipped", "read")


async def test_a_later_message_gets_a_second_email_without_the_old_ones(
    db, mail_env: Collector
) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Old news")
    await dispatcher.dispatch_once(db=db)
    second = _say(db, pair, "Fresh news")
    assert await dispatcher.dispatch_once(db=db) == Counter(sent=1)
    first_mail, second_mail = mail_env.messages()
    body = _text(second_mail, "plain")
    assert "Fresh news" in body and "Old news" not in body
    assert "a new message" in body
    # One conversation in the mail client: the same root, a new Message-ID.
    assert first_mail["References"] == second_mail["References"]
    assert first_mail["In-Reply-To"] == second_mail["In-Reply-To"]
    assert first_mail["Message-ID"] != second_mail["Message-ID"]
    assert first_mail["Subject"] == second_mail["Subject"]
    assert [r.through_seq for r in _rows(db)] == [1, second]


async def test_what_an_earlier_email_covered_is_not_sent_again(db, mail_env: Collector) -> None:
    """A pending row whose messages an earlier e-mail already showed is closed as covered."""
    pair = premium_pair(db)
    _say(db, pair, "Shown once")
    await dispatcher.dispatch_once(db=db)
    # A second row for the same messages (as if queued twice): nothing new to show.
    with dbmod.write_session(db) as session:
        session.add(
            EmailOutbox(
                thread_id=pair.thread_id,
                user_id=pair.owner.id,
                first_seq=1,
                due_at=utcnow(),
                created_at=utcnow(),
            )
        )
    assert await dispatcher.dispatch_once(db=db) == Counter(skipped=1)
    assert len(mail_env.envelopes) == 1
    assert _rows(db)[-1].note == "covered"


async def test_reading_part_of_a_batch_gives_the_rest_its_own_delay(
    db, mail_env: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMAIL_NOTIFY_DELAY_SECONDS", "120")
    get_settings.cache_clear()
    pair = premium_pair(db)
    _say(db, pair, "Morning")
    reads.mark_read(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    _say(db, pair, "One more thing")
    assert await dispatcher.dispatch_once(db=db) == Counter()  # not due yet
    # As if "Morning" came two minutes ago: its e-mail is due now; the owner read it, and
    # "One more thing" is seconds old: back in the queue until it waited its own delay.
    with dbmod.write_session(db) as session:
        session.execute(update(EmailOutbox).values(due_at=utcnow()))
    assert await dispatcher.dispatch_once(db=db) == Counter(skipped=1)
    assert mail_env.envelopes == []
    [row] = _rows(db)
    assert (row.state, row.first_seq, row.attempts) == ("pending", 2, 0)
    assert row.due_at > _later(100)
    assert await dispatcher.dispatch_once(db=db, now=_later(60)) == Counter()
    assert await dispatcher.dispatch_once(db=db, now=_later(121)) == Counter(sent=1)
    [mail] = mail_env.messages()
    body = _text(mail, "plain")
    assert "One more thing" in body and "Morning" not in body


async def _drain(db: Engine, sent_by: Counter[str], name: str) -> None:
    while True:
        outcomes = await dispatcher.dispatch_once(limit=3, db=db)
        if not outcomes:
            return
        sent_by[name] += outcomes["sent"]


async def test_two_workers_send_every_email_exactly_once(db, mail_env: Collector) -> None:
    operator = factories.user(db, "operator", tier="premium")
    owner = factories.user(db, "owner")
    count = 24
    for i in range(count):
        prop = factories.listing(db, owner, title=f"Unit {i}")
        thread = threads.get_or_create_thread(
            user_id=operator.id, property_id=prop.id, owner_id=owner.id, subject="Lease", db=db
        )
        messages.send_message(user_id=operator.id, thread_id=thread.id, body=f"hi {i}", db=db)
    sent_by: Counter[str] = Counter()
    await asyncio.gather(_drain(db, sent_by, "a"), _drain(db, sent_by, "b"))
    ids = Counter(m["Message-ID"] for m in mail_env.messages())
    assert len(ids) == count and set(ids.values()) == {1}
    assert sum(sent_by.values()) == count
    assert {r.state for r in _rows(db)} == {"sent"}
    assert {r.attempts for r in _rows(db)} == {1}


async def test_a_crash_after_the_claim_is_sent_once_after_the_lease(
    db, mail_env: Collector
) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Will it arrive?")
    # A worker claims it and dies before sending.
    [dead] = email_outbox.claim_due(limit=10, db=db)
    assert await dispatcher.dispatch_once(db=db) == Counter()  # still leased
    lease = get_settings().email_claim_lease_seconds
    assert await dispatcher.dispatch_once(db=db, now=_later(lease + 1)) == Counter(sent=1)
    assert await dispatcher.dispatch_once(db=db, now=_later(2 * lease + 2)) == Counter()
    assert len(mail_env.envelopes) == 1
    [row] = _rows(db)
    assert (row.state, row.attempts) == ("sent", 2)
    # The dead worker comes back late: its claim is no longer good for anything.
    assert email_outbox.prepare(claim=dead, db=db) is None
    assert email_outbox.mark_sent(claim=dead, message_id="<late@x>", through_seq=9, db=db) is False
    assert email_outbox.mark_failed_or_retry(claim=dead, error="late", db=db) is None
    assert email_outbox.mark_skipped(claim=dead, note="late", db=db) is False
    [row] = _rows(db)
    assert (row.state, row.through_seq) == ("sent", 1)
    assert row.email_message_id == mail_env.messages()[0]["Message-ID"]


async def test_a_claim_past_its_last_attempt_fails_instead_of_looping(
    db, mail_env: Collector
) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Crash loop")
    lease = get_settings().email_claim_lease_seconds
    for i in range(get_settings().email_max_attempts):
        assert len(email_outbox.claim_due(limit=1, now=_later(i * (lease + 1)), db=db)) == 1
    assert email_outbox.claim_due(limit=1, now=_later(99 * lease), db=db) == []
    [row] = _rows(db)
    assert row.state == "failed" and "no attempts left" in (row.note or "")
    assert mail_env.envelopes == []


async def test_muted_and_opted_out_get_nothing(db, mail_env: Collector) -> None:
    muted = premium_pair(db)
    mutes.set_mute(user_id=muted.owner.id, thread_id=muted.thread_id, duration="1d", db=db)
    _say(db, muted, "psst")
    opted_out = premium_pair(db)
    notification_settings.set_email_enabled(user_id=opted_out.owner.id, enabled=False, db=db)
    _say(db, opted_out, "hello?")
    assert await dispatcher.dispatch_once(db=db) == Counter(skipped=2)
    assert mail_env.envelopes == []
    notes = {r.thread_id: (r.state, r.note) for r in _rows(db)}
    assert notes == {
        muted.thread_id: ("skipped", "muted"),
        opted_out.thread_id: ("skipped", "opted_out"),
    }


async def test_never_to_a_stranger_nor_below_premium(db, mail_env: Collector) -> None:
    gone = premium_pair(db)
    _say(db, gone, "to someone who left")
    # The recipient is no longer a participant of the thread (only plain SQL could do this).
    with dbmod.write_session(db) as session:
        session.execute(
            delete(Participant).where(
                col(Participant.thread_id) == gone.thread_id,
                col(Participant.user_id) == gone.owner.id,
            )
        )
    downgraded = premium_pair(db)
    _say(db, downgraded, "sent on Premium")
    accounts.set_tier(email=downgraded.operator.email, tier="pro", db=db)
    assert await dispatcher.dispatch_once(db=db) == Counter(skipped=2)
    assert mail_env.envelopes == []
    notes = {r.thread_id: r.note for r in _rows(db)}
    assert notes == {gone.thread_id: "stranger", downgraded.thread_id: "not_premium"}


async def test_headers_thread_reply_and_unsubscribe(db, mail_env: Collector) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Headers, please")
    await dispatcher.dispatch_once(db=db)
    [mail] = mail_env.messages()
    [row] = _rows(db)
    assert mail["Message-ID"] == f"<{row.id}@arbibase.test>"
    root = f"<thread-{pair.thread_id}-{pair.owner.id}@arbibase.test>"
    assert mail["In-Reply-To"] == root and mail["References"] == root
    assert mail["Subject"] == f"{pair.operator.display_name}: 3BR near the beach"
    assert mail["From"].addresses[0].addr_spec == "notify@arbibase.test"
    assert mail["From"].addresses[0].display_name == f"{pair.operator.display_name} via ArbiBase"
    assert mail["To"].addresses[0].addr_spec == pair.owner.email
    reply = re.fullmatch(rf"reply\+([0-9a-f]{{32}})@{re.escape(REPLY_DOMAIN)}", mail["Reply-To"])
    assert reply is not None
    token = reply.group(1)
    owner = email_tokens.resolve(token=token, db=db)
    assert owner is not None and (owner.user_id, owner.thread_id) == (
        pair.owner.id,
        pair.thread_id,
    )
    assert mail["List-Unsubscribe"] == f"<{PUBLIC_URL}/api/email/unsubscribe/{token}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"


async def test_no_reply_to_without_a_reply_domain(
    db, mail_env: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMAIL_REPLY_DOMAIN")
    get_settings.cache_clear()
    pair = premium_pair(db)
    _say(db, pair, "No replies by e-mail")
    await dispatcher.dispatch_once(db=db)
    [mail] = mail_env.messages()
    assert mail["Reply-To"] is None
    token = mail["List-Unsubscribe"].rsplit("/", 1)[1].rstrip(">")
    assert email_tokens.resolve(token=token, db=db) is not None


async def test_the_open_offer_is_shown_with_links_to_act(db, mail_env: Collector) -> None:
    pair = premium_pair(db)
    sent = offers.send_offer(
        user_id=pair.operator.id,
        property_id=pair.property.id,
        terms={"monthlyRent": 2400, "leaseMonths": 12, "startDate": START, "deposit": 4800},
        db=db,
    )
    await dispatcher.dispatch_once(db=db)
    [mail] = mail_env.messages()
    text = _text(mail, "plain")
    assert "Open offer v1" in text and "$2,400/mo" in text and "$4,800" in text
    for action in ("accept", "decline", "counter"):
        assert f"{PUBLIC_URL}/offers/{sent.offer_id}?action={action}" in text
        assert f"/offers/{sent.offer_id}?action={action}" in _text(mail, "html")


async def test_an_attachment_is_named_and_a_deleted_message_left_out(
    db, mail_env: Collector
) -> None:
    pair = premium_pair(db)
    _say(db, pair, "This one stays")
    gone = _say(db, pair, "This one goes")
    with dbmod.write_session(db) as session:
        session.execute(
            update(MessagingMessage)
            .where(
                col(MessagingMessage.thread_id) == pair.thread_id,
                col(MessagingMessage.seq) == gone,
            )
            .values(deleted_at=utcnow(), body=None)
        )
    await dispatcher.dispatch_once(db=db)
    body = _text(mail_env.messages()[0], "plain")
    assert "This one stays" in body and "This one goes" not in body


async def test_without_smtp_the_email_is_written_as_an_eml_file(
    db, mail_env: Collector, mail_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMTP_HOST")
    get_settings.cache_clear()
    pair = premium_pair(db)
    _say(db, pair, "Read me in a file")
    assert await dispatcher.dispatch_once(db=db) == Counter(sent=1)
    assert mail_env.envelopes == []
    [path] = list(mail_dir.glob("*.eml"))
    [row] = _rows(db)
    assert path.name.endswith(f"-{row.id}.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(mail, EmailMessage)
    assert "Read me in a file" in _text(mail, "plain")
    assert row.state == "sent"


async def test_an_smtp_failure_is_retried_then_failed(db, mail_env: Collector) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Knock knock")
    mail_env.refuse = "451 4.3.0 Try again later"
    assert await dispatcher.dispatch_once(db=db) == Counter(retry=1)
    [row] = _rows(db)
    assert (row.state, row.attempts) == ("pending", 1)
    assert "451" in (row.note or "") and row.due_at > utcnow()
    # Not before its backoff...
    assert await dispatcher.dispatch_once(db=db) == Counter()
    # ...then again until EMAIL_MAX_ATTEMPTS (3 here), then failed for good.
    assert await dispatcher.dispatch_once(db=db, now=_later(3600)) == Counter(retry=1)
    assert await dispatcher.dispatch_once(db=db, now=_later(7300)) == Counter(failed=1)
    assert await dispatcher.dispatch_once(db=db, now=_later(99_999)) == Counter()
    [row] = _rows(db)
    assert (row.state, row.attempts) == ("failed", 3)
    assert mail_env.envelopes == []


async def test_a_failure_recovers_when_the_server_does(db, mail_env: Collector) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Second time lucky")
    mail_env.refuse = "421 4.3.2 Service not available"
    await dispatcher.dispatch_once(db=db)
    mail_env.refuse = None
    assert await dispatcher.dispatch_once(db=db, now=_later(3600)) == Counter(sent=1)
    [row] = _rows(db)
    assert (row.state, row.attempts, row.note) == ("sent", 2, None)


async def test_a_message_while_retrying_joins_the_pending_email(db, mail_env: Collector) -> None:
    """The failed row goes back to pending; a message meanwhile queued its own pending row
    (the claimed row was `sending`): one of them takes over, nothing is sent twice."""
    pair = premium_pair(db)
    _say(db, pair, "One")
    [claim] = email_outbox.claim_due(limit=5, db=db)
    _say(db, pair, "Two")  # queues a new pending row beside the claimed one
    assert email_outbox.mark_failed_or_retry(claim=claim, error="boom", db=db) == "merged"
    pending = [r for r in _rows(db) if r.state == "pending"]
    assert len(pending) == 1 and pending[0].first_seq == 1
    assert await dispatcher.dispatch_once(db=db) == Counter(sent=1)
    body = _text(mail_env.messages()[0], "plain")
    assert "One" in body and "Two" in body


def test_other_tiers_and_own_messages_owe_nothing(db, mail_env: Collector) -> None:
    pair = factories.Pair(db)  # Pro: no e-mail fallback
    _say(db, pair, "pro")
    assert _rows(db) == []
    premium = premium_pair(db)
    prop = properties.create_property(
        user_id=premium.owner.id,
        data={"title": "Loft", "address": "1 Main", "city": "Tampa"},
        db=db,
    )
    assert prop.id != premium.property.id
    _say(db, premium, "from the owner", by="owner")
    [row] = _rows(db)
    assert row.user_id == premium.operator.id


def test_claim_due_refuses_a_bad_limit(db) -> None:
    for bad in (0, -1, True, "5"):
        with pytest.raises(ValueError):
            email_outbox.claim_due(limit=bad, db=db)  # type: ignore[arg-type]


def test_unknown_ids_do_not_matter(db) -> None:
    claim = email_outbox.Claimed(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 1, 1, utcnow())
    assert email_outbox.prepare(claim=claim, db=db) is None
    assert email_outbox.mark_sent(claim=claim, message_id="<x@y>", through_seq=1, db=db) is False


def test_a_row_another_worker_holds_is_skipped_not_waited_for(db, mail_env: Collector) -> None:
    """PostgreSQL: FOR UPDATE SKIP LOCKED. While another transaction holds one due row, a claim
    takes the others at once and leaves that one (SQLite writes one at a time instead)."""
    if db.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes write transactions")
    held, free = premium_pair(db), premium_pair(db)
    _say(db, held, "held")
    _say(db, free, "free")
    with db.connect() as other:
        other.begin()
        other.execute(
            select(col(EmailOutbox.id))
            .where(col(EmailOutbox.thread_id) == held.thread_id)
            .with_for_update()
        ).one()
        started = time.perf_counter()
        claimed = email_outbox.claim_due(limit=10, db=db)
        assert time.perf_counter() - started < 2.0
        assert [c.thread_id for c in claimed] == [free.thread_id]
        other.rollback()
    [late] = email_outbox.claim_due(limit=10, db=db)
    assert late.thread_id == held.thread_id


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_every_worker_runs_the_dispatcher_in_its_lifespan(
    db, mail_env: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """maintenance.lifespan (registered with the Reflex app) sends what comes due, pass after
    pass, on the configured database."""
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("EMAIL_DISPATCH_INTERVAL_SECONDS", "0.05")
    get_settings.cache_clear()
    pair = premium_pair(db)
    async with maintenance.lifespan(None):
        assert "email-dispatch" in {t.get_name() for t in asyncio.all_tasks()}
        await asyncio.to_thread(_say, db, pair, "first pass")
        await _until(lambda: len(mail_env.envelopes) == 1)
        await asyncio.to_thread(_say, db, pair, "a later pass")
        await _until(lambda: len(mail_env.envelopes) == 2)
        # A pass marks its row sent after the SMTP server's answer: wait for that too, or
        # leaving the lifespan may cancel the pass in between (seen once in CI on a slow
        # machine: the row still "sending").
        await _until(lambda: [r.state for r in _rows(db)] == ["sent", "sent"])
    assert "email-dispatch" not in {t.get_name() for t in asyncio.all_tasks()}
    assert [r.state for r in _rows(db)] == ["sent", "sent"]


async def test_a_database_failure_is_logged_not_raised(
    mail_env: Collector, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    assert await dispatcher.dispatch_once(db=missing) == Counter()
    assert "claiming failed" in caplog.text


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture
def auth_smtp(monkeypatch: pytest.MonkeyPatch, mail_env: Collector) -> Iterator[Collector]:
    """A second server that requires AUTH (plain, no TLS: a test server on 127.0.0.1)."""
    from aiosmtpd.controller import Controller

    from tests.mail.conftest import _free_port

    collector = Collector()
    collector.port = _free_port()
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=collector.port,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    monkeypatch.setenv("SMTP_PORT", str(collector.port))
    get_settings.cache_clear()
    try:
        yield collector
    finally:
        controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_login_is_used_and_a_wrong_password_is_retried(
    db, auth_smtp: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = premium_pair(db)
    _say(db, pair, "Needs a login")
    monkeypatch.setenv("SMTP_USERNAME", "mailer")
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    # aiosmtpd holds back its refusal of a wrong password: our timeout ends the wait.
    monkeypatch.setenv("SMTP_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    assert await dispatcher.dispatch_once(db=db) == Counter(retry=1)
    assert auth_smtp.envelopes == []
    assert _rows(db)[0].note
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    get_settings.cache_clear()
    assert await dispatcher.dispatch_once(db=db, now=_later(3600)) == Counter(sent=1)
    assert auth_smtp.recipients() == [[pair.owner.email]]
