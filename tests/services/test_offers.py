"""services/offers.py and deals.py: Send Offer, the offer state machine, the deal stage."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat import maintenance, migrations
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import MessagingAttachment, MessagingOffer
from arbibase_chat.services import deals, events, inbox, messages, offers
from arbibase_chat.services.errors import (
    Invalid,
    NotFound,
    OperatorsOnly,
    StepConflict,
    VerifyOwnership,
)
from tests import factories
from tests.conftest import _truncate

START = (utcnow().date() + timedelta(days=30)).isoformat()
TERMS = {
    "monthlyRent": 2400,
    "leaseMonths": 12,
    "startDate": START,
    "deposit": 2400,
    "model": "guaranteed",
    "subletClause": True,
    "insuranceCoverage": 1_000_000,
    "maintenanceThreshold": 250,
}


@pytest.fixture
def deal(db):
    """An operator, a verified owner with a listing, and no thread between them yet."""
    operator = factories.user(db, "operator", name="Alice Operator")
    owner = factories.user(db, "owner", name="Olivia Owner")
    return operator, owner, factories.listing(db, owner, title="Bayview Loft")


def _send(db, operator, prop, **kw):
    return offers.send_offer(
        user_id=operator.id, property_id=prop.id, terms=kw.pop("terms", TERMS), db=db, **kw
    )


def _history(db, user, thread_id):
    return messages.list_messages(user_id=user.id, thread_id=thread_id, limit=200, db=db)


def _code(exc_info) -> str:
    return exc_info.value.code


def test_send_offer_opens_the_thread_with_the_offer_pdf_tag_and_stage(db, deal):
    operator, owner, prop = deal
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        sent = _send(db, operator, prop, message="Here is my offer")
    finally:
        unsubscribe()
    assert (sent.version, sent.status) == (1, "sent")
    [message] = _history(db, owner, sent.thread_id)
    assert message.id == sent.message_id and message.kind == "offer"
    assert message.body == "Here is my offer"
    assert message.metadata == {"offer_id": str(sent.offer_id), "version": 1}
    assert message.attachment is not None
    assert message.attachment.content_type == "application/pdf"
    assert message.attachment.filename.startswith("Offer v1")
    _, path = factories.open_attachment(
        user_id=owner.id, attachment_id=message.attachment.id, db=db
    )
    assert path.read_bytes().startswith(b"%PDF")
    row = inbox.get_thread(user_id=owner.id, thread_id=sent.thread_id, db=db)
    assert row.stage == "offer_sent" and offers.OFFER_SENT_TAG in row.tags
    [card] = offers.list_offers(user_id=owner.id, thread_id=sent.thread_id, db=db)
    assert card.actions == ["accept", "decline", "counter"]
    assert card.terms["monthlyRent"] == 2400.0 and card.terms["expiresInDays"] == 7
    assert card.headline.startswith("$2,400/mo · 12 months")
    assert offers.get_offer(user_id=operator.id, offer_id=sent.offer_id, db=db).actions == [
        "withdraw"
    ]
    kinds = [type(e).__name__ for e in seen]
    assert "MessageCreated" in kinds and "ThreadUpdated" in kinds


def test_send_offer_reuses_the_active_thread_and_a_retry_makes_nothing_new(db, deal):
    operator, owner, prop = deal
    first = _send(db, operator, prop, client_msg_id="offer-1")
    again = _send(db, operator, prop, client_msg_id="offer-1")
    assert again == first
    with pytest.raises(StepConflict) as refused:
        _send(db, operator, prop, client_msg_id="offer-2")
    assert _code(refused) == "offer_open"
    assert len(_history(db, owner, first.thread_id)) == 1


def test_bad_terms_name_the_field_and_write_nothing(db, deal):
    operator, _owner, prop = deal
    cases = {
        "monthlyRent": {**TERMS, "monthlyRent": -1},
        "leaseMonths": {**TERMS, "leaseMonths": 0},
        "startDate": {**TERMS, "startDate": "tomorrow"},
        "revenueSharePct": {**TERMS, "model": "revenue_share"},
        "model": {**TERMS, "model": "lease-to-own"},
        "terms": {**TERMS, "rent": 5},
        "expiresInDays": {**TERMS, "expiresInDays": 90},
        "subletClause": {**TERMS, "subletClause": "yes"},
    }
    for field, terms in cases.items():
        with pytest.raises(Invalid) as refused:
            _send(db, operator, prop, terms=terms)
        assert refused.value.field == field, field
    page = inbox.list_threads(user_id=operator.id, db=db)
    assert page.items == []


def test_only_operators_send_offers_and_strangers_see_nothing(db, deal):
    operator, owner, prop = deal
    with pytest.raises(OperatorsOnly):
        offers.send_offer(user_id=owner.id, property_id=prop.id, terms=TERMS, db=db)
    sent = _send(db, operator, prop)
    stranger = factories.user(db, "operator")
    for call in (
        lambda: offers.get_offer(user_id=stranger.id, offer_id=sent.offer_id, db=db),
        lambda: offers.list_offers(user_id=stranger.id, thread_id=sent.thread_id, db=db),
        lambda: offers.accept_offer(user_id=stranger.id, offer_id=sent.offer_id, db=db),
        lambda: offers.withdraw_offer(user_id=stranger.id, offer_id=sent.offer_id, db=db),
        lambda: offers.counter_offer(
            user_id=stranger.id, offer_id=sent.offer_id, terms=TERMS, db=db
        ),
    ):
        with pytest.raises(NotFound):
            call()


def test_counter_then_accept_walks_the_stages_with_a_diff(db, deal):
    operator, owner, prop = deal
    v1 = _send(db, operator, prop)
    v2 = offers.counter_offer(
        user_id=owner.id,
        offer_id=v1.offer_id,
        terms={**TERMS, "monthlyRent": 2250, "leaseMonths": 24},
        db=db,
    )
    assert v2.version == 2 and v2.thread_id == v1.thread_id
    cards = offers.list_offers(user_id=operator.id, thread_id=v1.thread_id, db=db)
    assert [(c.version, c.status) for c in cards] == [(1, "countered"), (2, "sent")]
    assert cards[1].parent_id == v1.offer_id and cards[1].made_by_role == "owner"
    assert [str(c.label) + ": " + c.before + " → " + c.after for c in cards[1].changes] == [
        "rent: $2,400/mo → $2,250/mo",
        "term: 12 months → 24 months",
    ]
    assert cards[1].actions == ["accept", "decline", "counter"]
    assert inbox.get_thread(user_id=owner.id, thread_id=v1.thread_id, db=db).stage == "countered"
    accepted = offers.accept_offer(user_id=operator.id, offer_id=v2.offer_id, db=db)
    assert accepted.status == "accepted" and accepted.actions == []
    assert inbox.get_thread(user_id=owner.id, thread_id=v1.thread_id, db=db).stage == "agreed"
    history = _history(db, owner, v1.thread_id)
    assert [m.kind for m in history] == ["offer", "offer", "system"]
    assert history[2].body.startswith("Alice Operator accepted offer v2: $2,250/mo")
    assert history[2].metadata["status"] == "accepted"


def test_illegal_steps_are_refused_with_codes(db, deal):
    operator, owner, prop = deal
    v1 = _send(db, operator, prop)
    with pytest.raises(StepConflict) as own:
        offers.accept_offer(user_id=operator.id, offer_id=v1.offer_id, db=db)
    assert _code(own) == "own_offer"
    with pytest.raises(StepConflict) as own_counter:
        offers.counter_offer(user_id=operator.id, offer_id=v1.offer_id, terms=TERMS, db=db)
    assert _code(own_counter) == "own_offer"
    with pytest.raises(StepConflict) as not_maker:
        offers.withdraw_offer(user_id=owner.id, offer_id=v1.offer_id, db=db)
    assert _code(not_maker) == "not_maker"
    with pytest.raises(Invalid):
        offers.counter_offer(user_id=owner.id, offer_id=v1.offer_id, terms=TERMS, db=db)
    v2 = offers.counter_offer(
        user_id=owner.id, offer_id=v1.offer_id, terms={**TERMS, "deposit": 0}, db=db
    )
    with pytest.raises(StepConflict) as old:
        offers.accept_offer(user_id=owner.id, offer_id=v1.offer_id, db=db)
    assert _code(old) == "not_latest"
    declined = offers.decline_offer(
        user_id=operator.id, offer_id=v2.offer_id, reason="Deposit is needed", db=db
    )
    assert declined.status == "declined" and declined.reason == "Deposit is needed"
    for act in (offers.accept_offer, offers.withdraw_offer, offers.decline_offer):
        with pytest.raises(StepConflict) as closed:
            act(user_id=owner.id, offer_id=v2.offer_id, db=db)
        assert _code(closed) in ("offer_closed", "not_maker")
    assert inbox.get_thread(user_id=owner.id, thread_id=v1.thread_id, db=db).stage == "inquiry"
    last = _history(db, owner, v1.thread_id)[-1]
    assert last.kind == "system" and last.body.endswith("Reason: Deposit is needed")
    # After a decline the operator may make a new offer: version 3, a new round.
    v3 = _send(db, operator, prop)
    assert v3.version == 3
    assert inbox.get_thread(user_id=owner.id, thread_id=v1.thread_id, db=db).stage == "offer_sent"


def test_an_unverified_owner_reads_offers_but_cannot_answer(db):
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner", verified=False)
    prop = factories.listing(db, owner)
    sent = _send(db, operator, prop)
    [card] = offers.list_offers(user_id=owner.id, thread_id=sent.thread_id, db=db)
    assert card.status == "sent" and card.actions == []  # nothing to press before verifying
    with pytest.raises(VerifyOwnership):
        offers.accept_offer(user_id=owner.id, offer_id=sent.offer_id, db=db)
    with pytest.raises(VerifyOwnership):
        offers.counter_offer(
            user_id=owner.id, offer_id=sent.offer_id, terms={**TERMS, "deposit": 1}, db=db
        )


def _age(db, offer_id, *, days: int = 8) -> None:
    with dbmod.write_session(db) as session:
        session.execute(
            update(MessagingOffer)
            .where(col(MessagingOffer.id) == offer_id)
            .values(expires_at=utcnow() - timedelta(days=days - 7))
        )


def test_a_due_offer_expires_when_acted_on_and_is_announced(db, deal):
    operator, owner, prop = deal
    sent = _send(db, operator, prop)
    _age(db, sent.offer_id)
    with pytest.raises(StepConflict) as late:
        offers.accept_offer(user_id=owner.id, offer_id=sent.offer_id, db=db)
    assert _code(late) == "offer_closed"
    card = offers.get_offer(user_id=owner.id, offer_id=sent.offer_id, db=db)
    assert card.status == "expired" and card.decided_by is None
    last = _history(db, owner, sent.thread_id)[-1]
    assert last.kind == "system" and "expired" in (last.body or "")
    assert inbox.get_thread(user_id=owner.id, thread_id=sent.thread_id, db=db).stage == "inquiry"
    # The expiry is news to both: unread for the maker too.
    assert inbox.get_thread(user_id=operator.id, thread_id=sent.thread_id, db=db).unread_count == 1


def test_the_sweep_expires_due_offers_once(db, deal):
    operator, owner, prop = deal
    sent = _send(db, operator, prop)
    assert offers.expire_due(db=db) == 0
    _age(db, sent.offer_id)
    assert offers.expire_due(db=db) == 1
    assert offers.expire_due(db=db) == 0
    systems = [m for m in _history(db, owner, sent.thread_id) if m.kind == "system"]
    assert len(systems) == 1


@pytest.fixture
def pg_db(postgres_url, migrated):
    """Postgres only: the race needs real row locks (SQLite runs one writer at a time)."""
    if "postgres" not in migrated:
        migrations.upgrade(postgres_url)
        migrated["postgres"] = postgres_url
    engine = dbmod.get_engine(postgres_url)
    _truncate(engine)
    return engine


@pytest.mark.postgres
def test_accept_and_withdraw_at_once_exactly_one_wins(pg_db):
    db = pg_db
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    prop = factories.listing(db, owner)
    for _ in range(5):
        sent = _send(db, operator, prop)
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def run(name, act, user, offer_id=sent.offer_id, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            try:
                act(user_id=user.id, offer_id=offer_id, db=db)
                outcomes[name] = "won"
            except StepConflict as exc:
                outcomes[name] = exc.code

        workers = [
            threading.Thread(target=run, args=("accept", offers.accept_offer, owner)),
            threading.Thread(target=run, args=("withdraw", offers.withdraw_offer, operator)),
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert sorted(outcomes.values()) == ["offer_closed", "won"], outcomes
        card = offers.get_offer(user_id=owner.id, offer_id=sent.offer_id, db=db)
        winner = "accepted" if outcomes["accept"] == "won" else "withdrawn"
        assert card.status == winner
        if winner == "accepted":
            # Reset for the next round: a lost deal, then a new offer.
            deals.set_stage(
                user_id=operator.id, thread_id=sent.thread_id, stage="lost", reason="test", db=db
            )


def test_hand_set_stages_follow_their_order(db, deal):
    operator, owner, prop = deal
    sent = _send(db, operator, prop)
    with pytest.raises(StepConflict) as early:
        deals.set_stage(user_id=owner.id, thread_id=sent.thread_id, stage="signed", db=db)
    assert _code(early) == "stage_order"
    with pytest.raises(Invalid):
        deals.set_stage(user_id=owner.id, thread_id=sent.thread_id, stage="lost", db=db)
    offers.accept_offer(user_id=owner.id, offer_id=sent.offer_id, db=db)
    tid = sent.thread_id
    assert deals.set_stage(user_id=owner.id, thread_id=tid, stage="lease_drafted", db=db) == (
        "lease_drafted"
    )
    assert deals.set_stage(user_id=operator.id, thread_id=tid, stage="signed", db=db) == "signed"
    with pytest.raises(StepConflict):
        deals.set_stage(user_id=operator.id, thread_id=tid, stage="lost", reason="x", db=db)
    bodies = [m.body for m in _history(db, owner, tid) if m.kind == "system"]
    assert bodies[-2:] == [
        "Olivia Owner marked the lease as drafted.",
        "Alice Operator marked the lease as signed.",
    ]
    with pytest.raises(Invalid):
        deals.set_stage(user_id=owner.id, thread_id=tid, stage="agreed", db=db)
    stranger = factories.user(db, "owner")
    with pytest.raises(NotFound):
        deals.set_stage(user_id=stranger.id, thread_id=tid, stage="lost", reason="x", db=db)


def test_lost_and_resumed(db, deal):
    operator, owner, prop = deal
    sent = _send(db, operator, prop)
    tid = sent.thread_id
    assert (
        deals.set_stage(
            user_id=operator.id, thread_id=tid, stage="lost", reason="Owner sold", db=db
        )
        == "lost"
    )
    row = inbox.get_thread(user_id=owner.id, thread_id=tid, db=db)
    assert row.stage == "lost"
    assert inbox.list_threads(user_id=owner.id, stage="lost", db=db).items[0].id == tid
    assert inbox.list_threads(user_id=owner.id, stage="agreed", db=db).items == []
    assert deals.set_stage(user_id=owner.id, thread_id=tid, stage="resume", db=db) == "offer_sent"


def test_a_failed_offer_leaves_no_pdf_behind(db, deal):
    operator, _owner, prop = deal
    _send(db, operator, prop)
    with pytest.raises(StepConflict):
        _send(db, operator, prop)
    with dbmod.read_session(db) as session:
        files = list(session.scalars(select(MessagingAttachment)))
    assert len(files) == 1 and files[0].content_type == "application/pdf"
    folder = get_settings().attachments_dir / str(files[0].thread_id)
    assert len([p for p in folder.iterdir() if p.is_file()]) == 1


def test_the_maintenance_task_expires_offers_off_the_event_loop(db, deal, monkeypatch):
    operator, owner, prop = deal
    sent = _send(db, operator, prop)
    _age(db, sent.offer_id)
    threads_seen: list[str] = []
    real = offers.expire_due

    def expire(**kwargs):
        threads_seen.append(threading.current_thread().name)
        return real(db=db, **kwargs)

    monkeypatch.setattr(offers, "expire_due", expire)
    monkeypatch.setattr(get_settings(), "offer_expiry_interval_seconds", 0.05)

    async def run() -> None:
        task = asyncio.create_task(maintenance.run_offer_expiry())
        for _ in range(100):
            await asyncio.sleep(0.05)
            if offers.get_offer(user_id=owner.id, offer_id=sent.offer_id, db=db).status != "sent":
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert offers.get_offer(user_id=owner.id, offer_id=sent.offer_id, db=db).status == "expired"
    assert threads_seen and threading.main_thread().name not in threads_seen
