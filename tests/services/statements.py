"""Which statements a service call runs (the round trips a hot path makes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def statement_verbs(engine: Engine) -> Iterator[list[str]]:
    """The first word of each statement `engine` runs inside the block, leaving out what is
    not a query: SQLite's BEGIN IMMEDIATE, Postgres' role and claims for RLS."""
    verbs: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb != "BEGIN" and "set_config" not in statement:
            verbs.append(verb)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield verbs
    finally:
        event.remove(engine, "before_cursor_execute", count)
