"""Postgres LISTEN: one connection per worker turns NOTIFY payloads into hub events.

The triggers (alembic 0003 and 0008, supabase/migrations/*_messaging_notify.sql) notify channel
`arbibase_chat` after every committed message, read-cursor move, thread and tag change, and
account change (verified, staff, tier; a verification claim submitted or decided), from
any client: this app's workers, the seed's Next.js pages, plain SQL. Payloads hold ids only.

When the connection drops (database restart, network), the listener reconnects with backoff
and asks the hub to resync every session: each one catches up from the newest message it
holds, so whatever was committed while nobody listened still shows, with no gap and no
duplicate. Runs with the app's own database role (elevated): it reads ids only, and every
row a session then sees is read through the services' participant checks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import Engine

from arbibase_chat.realtime.hub import Hub
from arbibase_chat.services import events

log = logging.getLogger(__name__)

CHANNEL = "arbibase_chat"
# Notice a dead server within ~15 s even when no packet says so (a silent network cut).
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
APPLICATION_NAME = "arbibase_chat-listener"  # how the connection shows in pg_stat_activity


def libpq_dsn(engine: Engine) -> str:
    """The engine's URL as libpq wants it (no SQLAlchemy driver suffix)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def parse(payload: str) -> events.DomainEvent | None:
    """A NOTIFY payload as a domain event (None for kinds this version does not know)."""
    doc: dict[str, Any] = json.loads(payload)
    kind = doc.get("kind")
    participants = tuple(uuid.UUID(p) for p in doc["participants"] if p)
    if kind == "account":  # alembic 0008: a user's account or verification claim changed
        return events.account_updated(uuid.UUID(doc["user_id"]))
    thread_id = uuid.UUID(doc["thread_id"])
    if kind == "message":
        return events.MessageCreated(
            thread_id=thread_id,
            message_id=uuid.UUID(doc["message_id"]),
            seq=int(doc["seq"]),
            sender_id=uuid.UUID(doc["sender_id"]),
            participant_ids=participants,
        )
    if kind == "read":
        return events.ReadUpdated(
            thread_id=thread_id,
            user_id=uuid.UUID(doc["user_id"]),
            last_read_seq=int(doc["seq"]),
            participant_ids=participants,
        )
    if kind == "thread":
        return events.ThreadUpdated(thread_id=thread_id, participant_ids=participants)
    if kind == "messages_changed":
        return events.MessagesChanged(thread_id=thread_id, participant_ids=participants)
    return None


class PgListener:
    def __init__(self, dsn: str, hub: Hub, channel: str = CHANNEL) -> None:
        self._dsn = dsn
        self._hub = hub
        self._channel = channel
        self.listening = asyncio.Event()
        self.reconnects = 0

    async def run(self) -> None:
        """Listen until cancelled."""
        delay = 0.05
        connects = 0
        while True:
            try:
                conninfo = make_conninfo(self._dsn, application_name=APPLICATION_NAME, **KEEPALIVE)
                conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f'LISTEN "{self._channel}"')
                    # Anything committed while nobody listened (none at the first start, when no
                    # session is registered yet) is caught up by every session itself.
                    self._hub.resync()
                    self.reconnects = connects
                    connects += 1
                    delay = 0.05
                    self.listening.set()
                    async for notice in conn.notifies():
                        self._handle(notice.payload)
            except psycopg.Error as exc:
                if self.listening.is_set():
                    log.warning("realtime: database listener lost (%s); reconnecting", exc)
                self.listening.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _handle(self, payload: str) -> None:
        try:
            event = parse(payload)
        except (KeyError, ValueError, TypeError):
            log.warning("realtime: ignoring malformed notice %r", payload)
            return
        if event is not None:
            self._hub.receive(event)
