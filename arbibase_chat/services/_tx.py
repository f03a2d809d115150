"""The one transaction helper every write service uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from arbibase_chat.db import read_session, write_session
from arbibase_chat.services import events as domain_events


class Outbox(list[domain_events.DomainEvent]):
    """Events collected during a transaction; published only if it commits."""


@contextmanager
def transaction(db: Engine | None = None) -> Iterator[tuple[Session, Outbox]]:
    outbox = Outbox()
    with write_session(db) as session:
        yield session, outbox
    domain_events.publish(outbox)


@contextmanager
def reading(db: Engine | None = None) -> Iterator[Session]:
    with read_session(db) as session:
        yield session
