"""Account changes reach the user's open pages: AccountUpdated from the services (one worker),
over the Redis bus (encode/decode), and from NOTIFY on PostgreSQL, written by any process
(the CLI, plain SQL)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.realtime import bus, pg_listener
from arbibase_chat.realtime.hub import Hub
from arbibase_chat.realtime.pg_listener import libpq_dsn
from arbibase_chat.realtime.updates import AccountChanged, UserUpdate
from arbibase_chat.services import accounts, events, verification
from tests import factories, files
from tests.realtime.conftest import Recorder
from tests.realtime.test_pg_listener import _eventually, listening_hub


@pytest.fixture
async def running(db):
    hub = Hub(db=db)
    recorder = Recorder()
    unsubscribe = hub.start(recorder)
    task = asyncio.create_task(hub.run())
    yield hub, recorder
    unsubscribe()
    task.cancel()


async def test_an_approval_reaches_only_the_owners_tabs(running, db):
    hub, rec = running
    owner = factories.user(db, "owner", verified=False)
    other = factories.user(db, "owner", verified=False)
    claim = verification.submit_claim(
        user_id=owner.id, filename="deed.pdf", source=io.BytesIO(files.pdf()), db=db
    )
    await hub.drained()
    hub.register("owner-tab-1", owner.id)
    hub.register("owner-tab-2", owner.id)
    hub.register("other-tab", other.id)
    await aio.call(verification.approve, staff_id=None, claim_id=claim.id, db=db)
    await rec.wait_for(2)
    await hub.drained()
    assert rec.to("owner-tab-1") == rec.to("owner-tab-2") == [AccountChanged(owner.id)]
    assert rec.to("other-tab") == []


def test_account_updated_crosses_the_redis_bus_as_ids():
    event = events.account_updated(uuid.uuid4())
    wire = bus.encode(event)
    assert json.loads(wire) == {
        "type": "AccountUpdated",
        "user_id": str(event.user_id),
        "participant_ids": [str(event.user_id)],
    }
    assert bus.decode(wire) == event


@pytest.mark.postgres
def test_account_changes_are_announced_with_ids_only(pg_db: Engine):
    owner = factories.user(pg_db, "owner", verified=False)
    with psycopg.connect(libpq_dsn(pg_db), autocommit=True) as conn:
        conn.execute(f'LISTEN "{pg_listener.CHANNEL}"')
        claim = verification.submit_claim(
            user_id=owner.id,
            filename="deed.pdf",
            source=io.BytesIO(files.pdf()),
            note="secret note",
            db=pg_db,
        )
        verification.approve(staff_id=None, claim_id=claim.id, db=pg_db)
        accounts.set_tier(email=owner.email, tier="premium", db=pg_db)
        got = [json.loads(n.payload) for n in conn.notifies(timeout=0.5, stop_after=None)]
    expected = {"kind": "account", "user_id": str(owner.id), "participants": [str(owner.id)]}
    # Submitted; approved (the claim's and users.verified's notices are identical, in one
    # transaction: PostgreSQL delivers them once); the tier.
    assert got == [expected] * 3
    assert "secret" not in json.dumps(got)
    assert pg_listener.parse(json.dumps(expected)) == events.account_updated(owner.id)


@pytest.mark.postgres
async def test_a_verification_by_another_process_reaches_the_open_page(pg_db: Engine):
    """Plain SQL stands for the CLI on another machine: the listener hears it."""
    owner = factories.user(pg_db, "owner", verified=False)
    pair_owner = factories.user(pg_db, "operator")
    async with listening_hub(pg_db) as (hub, rec, _):
        hub.register("owner-tab", owner.id)
        hub.register("operator-tab", pair_owner.id)

        def verify_with_sql() -> None:
            with pg_db.begin() as conn:
                conn.execute(
                    text("update users set verified = true where id = :id"), {"id": owner.id}
                )

        await asyncio.to_thread(verify_with_sql)
        await _eventually(lambda: AccountChanged(owner.id) in rec.to("owner-tab"))
        await hub.drained()
        assert rec.to("operator-tab") == []
        assert not any(isinstance(u, UserUpdate) for u in rec.to("owner-tab"))
