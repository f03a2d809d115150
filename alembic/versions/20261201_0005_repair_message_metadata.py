"""Repair message metadata that breaks reads (pen test, issue #9, finding 4).

Before the services checked metadata, a participant could store an object nested hundreds of
levels deep or holding a lone surrogate, and from then on the thread's history failed for
both parties. This sets every such row's metadata to `{}`, the value reads now show for it
(services/messages.py). A row is repaired when its stored text cannot be loaded by Python's
json (non-JSON text, a number of over 4,300 digits, extreme nesting), is not an object, is
nested deeper than 32 levels, or holds a lone surrogate or a non-finite number. The rules are
frozen here on purpose (not imported from the app, whose rules may change later).

Rows are read as text on both backends (so a value psycopg could not load is still seen) and
only bad rows are written: on clean data this changes nothing. Offline (`--sql`) mode cannot
see rows, so it emits nothing. Downgrade is a no-op: the broken values are not worth keeping.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import json
import logging
import math
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

MAX_DEPTH = 32
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _is_bad(raw: str) -> bool:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return True
    if value is None:  # JSON null: how SQLAlchemy stores "no metadata" in SQLite
        return False
    if not isinstance(value, dict):
        return True
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH or any(_SURROGATE.search(k) for k in item):
                return True
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, float) and not math.isfinite(item):
            return True
    return False


def upgrade() -> None:
    if context.is_offline_mode():
        return
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, CAST(metadata AS TEXT) FROM messaging_messages WHERE metadata IS NOT NULL"
        ),
        execution_options={"yield_per": 1000},  # streamed: one batch in memory at a time
    )
    # Ids as the driver returned them, so the update matches on either backend.
    bad = [row[0] for row in rows if _is_bad(row[1])]
    if not bad:
        return
    update = sa.text("UPDATE messaging_messages SET metadata = '{}' WHERE id = :id")
    conn.execute(update, [{"id": message_id} for message_id in bad])
    log.warning("repaired the metadata of %d message(s) that could not be shown", len(bad))


def downgrade() -> None:
    pass
