"""The inbox's later pages read one page of the caller's rows, not all the older ones
(issue #14, target 7: page 2 at 10,000 threads was 13 ms p50 against page 1's 8).

The keyset condition used to be `a < x OR (a = x AND b < y)`. A connection's prepared
statement runs Postgres' generic plan, and for that form it read every older participant row
of the caller (a BitmapOr: 9,950 at the bench's size) and sorted them for the top 51. As a
row comparison, `(a, b) < (x, y)`, it is one backward range scan of `ix_participants_inbox`
that stops at the page's end.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import event
from sqlalchemy.engine import Engine

from arbibase_chat.services import inbox, properties, threads
from arbibase_chat.services._tx import claims
from tests import factories

PAGE = 10


def _page_statement(db: Engine, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """The inbox's page statement as the service sends it, with its parameters."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "AS page" in statement:
            seen.append((statement, params))

    event.listen(db, "before_cursor_execute", capture)
    try:
        inbox.list_threads(db=db, **kwargs)
    finally:
        event.remove(db, "before_cursor_execute", capture)
    assert len(seen) == 1, seen
    return seen[0]


def _rows_read_of_my_participations(plan: dict[str, Any]) -> int:
    """Rows the scan of the caller's own participant rows produced (not the other side's)."""
    found = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Alias") == "messaging_participants":
            found.append(node["Actual Rows"] * node.get("Actual Loops", 1))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    assert found, plan
    return sum(found)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # Postgres' generic plans
def test_a_later_inbox_page_reads_one_page_of_my_rows(db: Engine) -> None:
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    for i in range(8 * PAGE):
        home = properties.create_property(
            user_id=owner.id,
            data={"title": f"Home {i}", "address": f"{i} Main St", "city": "Austin"},
            db=db,
        )
        threads.get_or_create_thread(
            user_id=operator.id, property_id=home.id, owner_id=owner.id, db=db
        )
    first = inbox.list_threads(user_id=operator.id, limit=PAGE, db=db)
    statement, params = _page_statement(
        db, user_id=operator.id, limit=PAGE, cursor=first.next_cursor
    )
    # Prepared by psycopg, as a pooled connection prepares it, and run with the generic plan
    # every later run of it gets.
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    raw = db.raw_connection()
    try:
        cur = cast(psycopg.Connection[Any], raw.driver_connection).cursor()
        cur.execute(
            "select set_config('role', 'authenticated', true),"
            " set_config('request.jwt.claims', %s, true),"
            " set_config('plan_cache_mode', 'force_generic_plan', true)",
            [claims(operator.id)],
        )
        cur.execute(statement, params, prepare=True)
        cur.execute("select name from pg_prepared_statements where statement like '%AS page%'")
        found = cur.fetchone()
        assert found is not None, "psycopg did not prepare the page statement"
        name = found[0]
        args = sql.SQL(", ").join(sql.Literal(params[n]) for n in names)
        cur.execute(
            sql.SQL("explain (analyze, format json) execute {}({})").format(
                sql.Identifier(name), args
            )
        )
        explained = cur.fetchone()
        assert explained is not None
        (plan,) = explained[0]
        raw.rollback()
    finally:
        raw.close()
    plan = plan if isinstance(plan, dict) else json.loads(plan)
    read = _rows_read_of_my_participations(plan)
    assert read <= PAGE + 1, f"page 2 read {read} of the caller's rows for a page of {PAGE}"
