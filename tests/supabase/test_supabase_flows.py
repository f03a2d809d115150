"""What participants may do still works through the policies, and the database keeps the
bookkeeping a direct Supabase client cannot be trusted with (numbers, timestamps, membership,
receipts)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.supabase.harness import BUCKET, World, acting_as, attempt, become, scalar

pytestmark = pytest.mark.postgres

DENIED = "42501"


def ids_of(conn: psycopg.Connection, sql: str, params: Any = None) -> set[Any]:
    return {row[0] for row in conn.execute(sql, params).fetchall()}


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("op1", {"t1", "t2", "t_closed", "t_arch"}),
        ("own1", {"t1", "t3", "t_closed", "t_arch"}),
        ("op2", {"t3"}),
        ("own2", {"t2"}),
        ("stranger", set()),
    ],
)
def test_each_user_sees_exactly_their_threads(conn, world: World, who: str, expected: set[str]):
    with acting_as(conn, world.user(who)):
        seen = ids_of(conn, "select id from public.messaging_threads")
        tags = ids_of(conn, "select thread_id from public.messaging_thread_tags")
        members = ids_of(conn, "select thread_id from public.messaging_participants")
        messages = ids_of(conn, "select thread_id from public.messaging_messages")
        files = ids_of(conn, "select thread_id from public.messaging_attachments")
    mine = {world.ids[t] for t in expected}
    assert seen == mine
    assert tags <= mine and members <= mine and messages <= mine and files <= mine
    assert messages == mine - {world.t_arch}  # t_arch has no messages


def test_participant_reads_history_and_the_other_sides_cursor(conn, world: World):
    with acting_as(conn, world.op1):
        history = conn.execute(
            "select seq, sender_id, kind from public.messaging_messages"
            " where thread_id = %s order by seq",
            [world.t1],
        ).fetchall()
        cursors = dict(
            conn.execute(
                "select user_id, last_read_seq from public.messaging_participants"
                " where thread_id = %s",
                [world.t1],
            ).fetchall()
        )
    assert history == [(1, world.op1, "text"), (2, world.own1, "text"), (3, world.op1, "offer")]
    # Replying moved each sender's cursor to their own message.
    assert cursors == {world.op1: 3, world.own1: 2}


def test_storage_participants_read_the_threads_files(conn, world: World):
    for who in ("op1", "own1"):
        with acting_as(conn, world.user(who)):
            names = {
                r[0]
                for r in conn.execute(
                    "select name from storage.objects where bucket_id = %s", [BUCKET]
                )
            }
        assert names == {f"{world.t1}/{world.a1}", f"{world.t1}/{world.a2}"} | (
            {f"{world.t3}/{world.a3}"} if who == "own1" else set()
        )


# --- sending ------------------------------------------------------------------------------


def test_send_numbers_the_message_and_keeps_the_books(conn, world: World):
    before = scalar(
        conn, "select last_message_at from public.messaging_threads where id = %s", [world.t1]
    )
    forged = datetime(2020, 1, 1, tzinfo=UTC)
    with acting_as(conn, world.own1):
        seq, created = conn.execute(
            "insert into public.messaging_messages (thread_id, sender_id, body, created_at)"
            " values (%s, %s, 'Deal. When can you view it?', %s) returning seq, created_at",
            [world.t1, world.own1, forged],
        ).fetchone()
    assert seq == 4
    assert created > before  # the forged created_at was replaced
    last_seq, last_at = conn.execute(
        "select last_seq, last_message_at from public.messaging_threads where id = %s", [world.t1]
    ).fetchone()
    assert (last_seq, last_at) == (4, created)
    rows = dict(
        (user, (cursor, inbox_at))
        for user, cursor, inbox_at in conn.execute(
            "select user_id, last_read_seq, last_message_at from public.messaging_participants"
            " where thread_id = %s",
            [world.t1],
        )
    )
    assert rows == {world.own1: (4, created), world.op1: (3, created)}
    # own1's cursor passed op1's offer (seq 3): the receipt is there, once.
    seen = scalar(conn, "select seen_by from public.messaging_messages where id = %s", [world.m3])
    assert seen == [str(world.own1)]
    assert scalar(
        conn, "select seen_by from public.messaging_messages where id = %s", [world.m1]
    ) == [str(world.own1)]


def test_send_brings_an_archived_thread_back(conn, world: World):
    with acting_as(conn, world.op1):
        conn.execute(
            "update public.messaging_threads set status = 'archived' where id = %s", [world.t2]
        )
        conn.execute(
            "insert into public.messaging_messages (thread_id, sender_id, body) values (%s, %s, 'still there?')",
            [world.t2, world.op1],
        )
        status = scalar(
            conn, "select status from public.messaging_threads where id = %s", [world.t2]
        )
    assert status == "active"


def test_retry_with_the_same_client_msg_id_changes_nothing(conn, world: World):
    sql = (
        "insert into public.messaging_messages (thread_id, sender_id, body, client_msg_id)"
        " values (%s, %s, 'once', 'c-1')"
    )
    with acting_as(conn, world.op1):
        first = conn.execute(sql + " returning seq", [world.t1, world.op1]).fetchone()
        again = conn.execute(
            sql + " on conflict (thread_id, sender_id, client_msg_id) do nothing returning seq",
            [world.t1, world.op1],
        ).fetchone()
    assert first == (4,) and again is None
    assert attempt(conn, world.op1, sql, [world.t1, world.op1]) == "23505"
    assert (
        scalar(conn, "select last_seq from public.messaging_threads where id = %s", [world.t1]) == 4
    )


def test_unverified_owner_sends_once_verified_in_app_metadata(conn, world: World):
    sql = "insert into public.messaging_messages (thread_id, sender_id, body) values (%s, %s, 'hi')"
    # user_metadata.verified (set by the user themselves) is ignored.
    assert attempt(conn, world.own2, sql, [world.t2, world.own2]) == DENIED
    conn.execute(
        "update auth.users set raw_app_meta_data = raw_app_meta_data || '{\"verified\": true}'"
        " where id = %s",
        [world.own2],
    )
    assert attempt(conn, world.own2, sql, [world.t2, world.own2]) == 1
    # The operator side needs no verification.
    assert attempt(conn, world.op1, sql, [world.t2, world.op1]) == 1


def test_offers_are_sendable_and_links_may_be_http_or_site_paths(conn, world: World):
    sql = (
        "insert into public.messaging_messages (thread_id, sender_id, body, kind, attachment_url,"
        " metadata) values (%s, %s, %s, %s, %s, %s)"
    )
    for kind, url in (
        ("offer", None),
        ("text", "https://arbibase.example/roi/1"),
        # The app's own file route (a uuid); other site paths are refused (migration 5).
        ("text", "/api/attachments/0b8f4a4e-54a1-4d5e-9a52-1c1f1b2a3c4d?variant=thumbnail"),
    ):
        body = None if url else "$2,300"
        meta = json.dumps({"rent_cents": 230000})
        assert attempt(conn, world.op1, sql, [world.t1, world.op1, body, kind, url, meta]) == 1


# --- read cursors -------------------------------------------------------------------------


def test_mark_read_moves_forward_and_fills_receipts(conn, world: World):
    with acting_as(conn, world.own1):
        changed = conn.execute(
            "update public.messaging_participants set last_read_seq = 3, last_read_at = '2020-01-01'"
            " where thread_id = %s and user_id = %s",
            [world.t1, world.own1],
        ).rowcount
        read_at = scalar(
            conn,
            "select last_read_at from public.messaging_participants where thread_id = %s and user_id = %s",
            [world.t1, world.own1],
        )
        receipts = dict(
            conn.execute(
                "select seq, seen_by from public.messaging_messages where thread_id = %s",
                [world.t1],
            ).fetchall()
        )
        # Marking read again up to the same message is a no-op, not an error.
        again = conn.execute(
            "update public.messaging_participants set last_read_seq = 3"
            " where thread_id = %s and user_id = %s",
            [world.t1, world.own1],
        ).rowcount
    assert changed == 1 and again == 1
    assert read_at > datetime.now(UTC) - timedelta(minutes=5)  # stamped by the database
    assert receipts == {1: [str(world.own1)], 2: [str(world.op1)], 3: [str(world.own1)]}


# --- thread changes -----------------------------------------------------------------------


def test_participants_archive_close_reopen_and_rename(conn, world: World):
    sql = "update public.messaging_threads set {} where id = %s"
    assert attempt(conn, world.op1, sql.format("status = 'archived'"), [world.t1]) == 1
    assert (
        attempt(conn, world.own1, sql.format("status = 'closed', subject = 'Done'"), [world.t1])
        == 1
    )
    assert attempt(conn, world.own1, sql.format("status = 'active'"), [world.t_closed]) == 1


def test_tags_are_added_and_removed_by_either_party_up_to_twenty(conn, world: World):
    add = (
        "insert into public.messaging_thread_tags (thread_id, tag, created_by) values (%s, %s, %s)"
    )
    with acting_as(conn, world.own1):
        conn.execute(add, [world.t1, "viewing", world.own1])
        removed = conn.execute(
            "delete from public.messaging_thread_tags where thread_id = %s and tag = 'offer-sent'",
            [world.t1],
        ).rowcount
        for n in range(19):
            conn.execute(add, [world.t1, f"tag-{n}", world.own1])
    assert removed == 1
    assert attempt(conn, world.op1, add, [world.t1, "one-too-many", world.op1]) == DENIED


def test_operator_opens_a_thread_and_membership_follows(conn, world: World):
    with acting_as(conn, world.op2):
        tid, created, last_at = conn.execute(
            "insert into public.messaging_threads (property_id, operator_id, owner_id, created_at,"
            " last_message_at) values (%s, %s, %s, '2020-01-01', '2030-01-01')"
            " returning id, created_at, last_message_at",
            [world.prop2, world.op2, world.own2],
        ).fetchone()
        # The deferred trigger adds the operator and the owner when the transaction commits.
        conn.execute("set constraints messaging_threads_participants immediate")
        members = conn.execute(
            "select user_id, role, last_read_seq from public.messaging_participants where thread_id = %s",
            [tid],
        ).fetchall()
    assert created == last_at and created.year > 2020
    assert sorted(members) == sorted([(world.op2, "operator", 0), (world.own2, "owner", 0)])


def test_opening_a_thread_commits_with_both_participants(world: World):
    """Through a real commit, as a direct client (the seed's POST inserts the thread only)."""
    with psycopg.connect(world.url, autocommit=True) as conn:
        with conn.transaction():
            become(conn, world.op2)
            tid = scalar(
                conn,
                "insert into public.messaging_threads (property_id, operator_id, owner_id)"
                " values (%s, %s, %s) returning id",
                [world.prop3, world.op2, world.own1],
            )
        try:
            roles: dict[str, uuid.UUID] = dict(
                conn.execute(
                    "select role, user_id from public.messaging_participants where thread_id = %s",
                    [tid],
                ).fetchall()
            )
            assert roles == {"operator": world.op2, "owner": world.own1}
        finally:
            conn.execute("delete from public.messaging_threads where id = %s", [tid])


def test_a_client_may_add_the_threads_own_participant_rows_itself(conn, world: World):
    """As the app does in one transaction; the deferred trigger then adds nothing twice."""
    with acting_as(conn, world.op2):
        tid = scalar(
            conn,
            "insert into public.messaging_threads (property_id, operator_id, owner_id)"
            " values (%s, %s, %s) returning id",
            [world.prop2, world.op2, world.own2],
        )
        conn.execute(
            "insert into public.messaging_participants (thread_id, user_id, role)"
            " values (%s, %s, 'operator'), (%s, %s, 'owner')",
            [tid, world.op2, tid, world.own2],
        )
        conn.execute("set constraints messaging_threads_participants immediate")
        count = scalar(
            conn, "select count(*) from public.messaging_participants where thread_id = %s", [tid]
        )
    assert count == 2


# --- editing and deleting my own messages -------------------------------------------------


def test_sender_edits_then_deletes_their_own_text_message(conn, world: World):
    with acting_as(conn, world.op1):
        edited = conn.execute(
            "update public.messaging_messages set body = 'hello again', edited_at = '2020-01-01'"
            " where id = %s returning edited_at",
            [world.m1],
        ).fetchone()
        deleted = conn.execute(
            "update public.messaging_messages set deleted_at = '2020-01-01'"
            " where id = %s returning body, deleted_at, seq",
            [world.m1],
        ).fetchone()
    assert edited is not None and edited[0].year > 2020
    assert deleted is not None and deleted[0] is None and deleted[1].year > 2020 and deleted[2] == 1
    # Deleted is final: no undelete, no edit.
    for change in ("deleted_at = null", "body = 'back'"):
        sql = f"update public.messaging_messages set {change} where id = %s"
        assert attempt(conn, world.op1, sql, [world.m1]) == DENIED


def test_edits_are_audited_for_the_thread_only(conn, world: World):
    """Migration 9: the previous text of each edit and of the delete, written by the trigger;
    the thread's participants read it, the other pairs and every writer get nothing."""
    with acting_as(conn, world.op1):
        conn.execute("update public.messaging_messages set body = 'v2' where id = %s", [world.m1])
        conn.execute(
            "update public.messaging_messages set deleted_at = now() where id = %s", [world.m1]
        )
    with acting_as(conn, world.own1):
        audit = conn.execute(
            "select action, previous_body, editor_id from public.messaging_message_edits"
            " where message_id = %s order by action desc",
            [world.m1],
        ).fetchall()
    assert audit == [("edit", "hello", world.op1), ("delete", "v2", world.op1)]
    with acting_as(conn, world.op2):
        assert not conn.execute("select * from public.messaging_message_edits").fetchall()
    for sql in (
        "insert into public.messaging_message_edits (message_id, thread_id, editor_id, action)"
        f" values ('{world.m2}', '{world.t1}', '{world.own1}', 'edit')",
        "update public.messaging_message_edits set previous_body = 'x'",
        "delete from public.messaging_message_edits",
    ):
        assert attempt(conn, world.own1, sql, []) == DENIED, sql


def test_the_window_and_the_kind_bind_direct_clients(conn, world: World):
    conn.execute(
        "update public.messaging_messages set created_at = now() - interval '16 minutes'"
        " where id = %s",
        [world.m2],
    )
    for change in ("body = 'late'", "deleted_at = now()"):
        sql = f"update public.messaging_messages set {change} where id = %s"
        assert attempt(conn, world.own1, sql, [world.m2]) == DENIED, change
        # An offer is withdrawn, not edited or deleted.
        assert attempt(conn, world.op1, sql, [world.m3]) == DENIED, change


# --- attachments --------------------------------------------------------------------------


def test_upload_record_send_link_and_download(conn, world: World):
    aid = uuid.uuid4()
    key = f"{world.t1}/{aid}"
    with acting_as(conn, world.own1):
        conn.execute(
            "insert into storage.objects (bucket_id, name, owner, owner_id) values (%s, %s, %s, %s)",
            [BUCKET, key, world.own1, str(world.own1)],
        )
        conn.execute(
            "insert into storage.objects (bucket_id, name, owner, owner_id) values (%s, %s, %s, %s)",
            [BUCKET, key + ".thumb.webp", world.own1, str(world.own1)],
        )
        conn.execute(
            "insert into public.messaging_attachments (id, thread_id, uploader_id, filename,"
            " content_type, size_bytes, storage_key, thumbnail_key)"
            " values (%s, %s, %s, 'front.jpg', 'image/jpeg', 2048, %s, %s)",
            [aid, world.t1, world.own1, key, key + ".thumb.webp"],
        )
        mid = scalar(
            conn,
            "insert into public.messaging_messages (thread_id, sender_id, attachment_url)"
            " values (%s, %s, %s) returning id",
            [world.t1, world.own1, f"/api/attachments/{aid}"],
        )
        linked = conn.execute(
            "update public.messaging_attachments set message_id = %s where id = %s", [mid, aid]
        ).rowcount
        # Upsert of one's own object (Storage's update path).
        updated = conn.execute(
            "update storage.objects set metadata = '{\"size\": 2048}' where name = %s", [key]
        ).rowcount
    assert linked == 1 and updated == 1
    with acting_as(conn, world.op1):
        assert (
            scalar(conn, "select count(*) from storage.objects where name like %s", [key + "%"])
            == 2
        )
        assert (
            scalar(conn, "select message_id from public.messaging_attachments where id = %s", [aid])
            == mid
        )
    # The other party reads it but cannot remove it; the uploader can.
    delete = "delete from storage.objects where name = %s"
    assert attempt(conn, world.op1, delete, [key]) == 0
    assert attempt(conn, world.own1, delete, [key]) == 1


# --- anon and other policies --------------------------------------------------------------


def test_anon_sees_and_writes_nothing_even_if_privileges_come_back(conn, world: World):
    """Someone runs Supabase's "grant all ... to anon" again: the policies still say no."""
    tables = (
        "messaging_threads",
        "messaging_participants",
        "messaging_thread_tags",
        "messaging_messages",
        "messaging_attachments",
    )
    for table in tables:
        conn.execute(f"grant all on public.{table} to anon")
        assert attempt(conn, None, f"select * from public.{table}") == 0
        assert (
            attempt(
                conn,
                None,
                f"update public.{table} set thread_id = thread_id"
                if table != "messaging_threads"
                else f"update public.{table} set subject = subject",
            )
            == 0
        )
        assert attempt(conn, None, f"delete from public.{table}") == 0
    send = "insert into public.messaging_messages (thread_id, sender_id, body) values (%s, %s, 'x')"
    assert attempt(conn, None, send, [world.t1, world.op1]) == DENIED
    # Storage grants anon everything (as Supabase does): the bucket's policies still show nothing.
    assert attempt(conn, None, "select * from storage.objects where bucket_id = %s", [BUCKET]) == 0


def test_a_broad_storage_policy_elsewhere_does_not_open_the_bucket(conn, world: World):
    """Another feature's careless permissive policy on storage.objects (no bucket condition)."""
    conn.execute(
        'create policy "someone else\'s: signed-in users do anything" on storage.objects'
        " for all to authenticated using (true) with check (true)"
    )
    with acting_as(conn, world.stranger):
        buckets = ids_of(conn, "select bucket_id from storage.objects")
    assert buckets == {"other_bucket"}  # the careless policy works elsewhere...
    # ...but not in message_attachments, for reading, writing or deleting.
    assert (
        attempt(
            conn, world.stranger, "select * from storage.objects where bucket_id = %s", [BUCKET]
        )
        == 0
    )
    upload = "insert into storage.objects (bucket_id, name, owner_id) values (%s, %s, %s)"
    assert (
        attempt(conn, world.stranger, upload, [BUCKET, f"{world.t1}/x", str(world.stranger)])
        == DENIED
    )
    assert (
        attempt(conn, world.stranger, "delete from storage.objects where bucket_id = %s", [BUCKET])
        == 0
    )
    # A participant still cannot write in the other party's name through it.
    assert attempt(conn, world.op1, upload, [BUCKET, f"{world.t1}/x", str(world.own1)]) == DENIED


# --- trusted callers ----------------------------------------------------------------------


def test_service_role_is_not_bound(conn, world: World):
    conn.execute("set local role service_role")
    assert scalar(conn, "select count(*) from public.messaging_threads") >= 5
    conn.execute("reset role")


def test_the_apps_own_send_sequence_still_works_as_a_trusted_caller(conn, world: World):
    """services/messages.send_message + reads.advance_cursor, statement by statement, as the
    elevated connection: it numbers the message itself and writes receipts itself."""
    now = datetime.now(UTC)
    seq = scalar(
        conn,
        "update public.messaging_threads set last_seq = last_seq + 1, last_message_at = %s"
        " where id = %s returning last_seq",
        [now, world.t1],
    )
    conn.execute(
        "update public.messaging_participants set last_message_at = %s where thread_id = %s",
        [now, world.t1],
    )
    conn.execute(
        "insert into public.messaging_messages (id, thread_id, seq, sender_id, body, seen_by, kind,"
        " created_at) values (%s, %s, %s, %s, 'from the app', '[]', 'text', %s)",
        [uuid.uuid4(), world.t1, seq, world.own1, now],
    )
    conn.execute(
        "update public.messaging_messages set seen_by = seen_by || jsonb_build_array(%s::text)"
        " where thread_id = %s and seq > 2 and seq <= %s and sender_id <> %s",
        [str(world.own1), world.t1, seq, world.own1],
    )
    conn.execute(
        "update public.messaging_participants set last_read_seq = %s, last_read_at = %s"
        " where thread_id = %s and user_id = %s",
        [seq, now, world.t1, world.own1],
    )
    assert seq == 4
    # The trigger's receipts did not double the app's.
    seen = scalar(conn, "select seen_by from public.messaging_messages where id = %s", [world.m3])
    assert seen == [str(world.own1)]


# --- offers and the deal stage (migration 7) ------------------------------------------------


def _offer_row(conn: psycopg.Connection, offer: uuid.UUID) -> tuple[Any, ...]:
    row = conn.execute(
        "select status, decided_by, decided_at, reason from public.messaging_offers where id = %s",
        [offer],
    ).fetchone()
    assert row is not None
    return tuple(row)


def _system(conn: psycopg.Connection, thread: uuid.UUID, sender: uuid.UUID, meta: Any) -> int:
    return scalar(
        conn,
        "insert into public.messaging_messages (thread_id, sender_id, body, kind, metadata)"
        " values (%s, %s, 'update', 'system', %s) returning seq",
        [thread, sender, json.dumps(meta)],
    )


def test_a_negotiation_offer_counter_accept_and_its_system_messages(conn, world: World):
    """op1's v1 (o1) is open in t1; own1 (verified) counters it with v2, op1 accepts v2; each
    decision's maker posts its system message; op1 sets the stage and says so."""
    with acting_as(conn, world.own1):
        # Counter: the open version is marked countered first (one open offer per thread).
        assert (
            conn.execute(
                "update public.messaging_offers set status = 'countered', reason = 'a bit lower'"
                " where id = %s",
                [world.o1],
            ).rowcount
            == 1
        )
        v2 = scalar(
            conn,
            "insert into public.messaging_offers"
            " (thread_id, version, parent_id, made_by, terms, expires_at)"
            """ values (%s, 2, %s, %s, '{"rent": 2300}', now() + interval '3 days')"""
            " returning id",
            [world.t1, world.o1, world.own1],
        )
        carrier = scalar(
            conn,
            "insert into public.messaging_messages (thread_id, sender_id, body, kind, metadata)"
            " values (%s, %s, '$2,300 a month', 'offer', %s) returning id",
            [world.t1, world.own1, json.dumps({"offer_id": str(v2)})],
        )
        conn.execute(
            "update public.messaging_offers set message_id = %s where id = %s", [carrier, v2]
        )
        assert _system(conn, world.t1, world.own1, {"offer_id": str(world.o1)}) > 0
        status, decided_by, decided_at, reason = _offer_row(conn, world.o1)
    assert (status, decided_by, reason) == ("countered", world.own1, "a bit lower")
    assert decided_at is not None  # the database's now()

    with acting_as(conn, world.op1):
        assert (
            conn.execute(
                "update public.messaging_offers set status = 'accepted' where id = %s", [v2]
            ).rowcount
            == 1
        )
        assert _system(conn, world.t1, world.op1, {"offer_id": str(v2)}) > 0
        conn.execute(
            "update public.messaging_threads set stage = 'agreed', stage_changed_by = %s"
            " where id = %s",
            [world.op1, world.t1],
        )
        assert _system(conn, world.t1, world.op1, {"stage": "agreed"}) > 0
        assert _offer_row(conn, v2)[:2] == ("accepted", world.op1)
        open_offers = scalar(
            conn,
            "select count(*) from public.messaging_offers where thread_id = %s and status = 'sent'",
            [world.t1],
        )
    assert open_offers == 0
    # Both parties read both versions; the numbers stay op1's.
    with acting_as(conn, world.own1):
        versions = ids_of(
            conn, "select version from public.messaging_offers where thread_id = %s", [world.t1]
        )
        numbers = ids_of(conn, "select offer_id from public.messaging_offer_numbers")
    assert versions == {1, 2}
    assert numbers == {world.o3}  # op2's numbers in t3 were shared with own1; op1's are not
    with acting_as(conn, world.op1):
        assert ids_of(conn, "select offer_id from public.messaging_offer_numbers") == {world.o1}


def test_a_new_version_with_its_numbers_after_a_withdrawal(conn, world: World):
    with acting_as(conn, world.op1):
        conn.execute(
            "update public.messaging_offers set status = 'withdrawn', decided_by = %s"
            " where id = %s",
            [world.op1, world.o1],
        )
        assert _offer_row(conn, world.o1)[:2] == ("withdrawn", world.op1)
        assert _system(conn, world.t1, world.op1, {"offer_id": str(world.o1)}) > 0
        v2 = scalar(
            conn,
            "insert into public.messaging_offers (thread_id, version, made_by, terms, expires_at,"
            """ created_at) values (%s, 2, %s, '{"rent": 2500}', now() + interval '1 day',"""
            " '2020-01-01') returning id",
            [world.t1, world.op1],
        )
        conn.execute(
            "insert into public.messaging_offer_numbers (offer_id, operator_id, inputs, roi, shared)"
            """ values (%s, %s, '{"rent": 2500}', '{"cap_rate": 0.08}', true)""",
            [v2, world.op1],
        )
        created = scalar(
            conn,
            "select created_at > now() - interval '1 minute' from public.messaging_offers"
            " where id = %s",
            [v2],
        )
    assert created  # the database's timestamp, not the client's
    with acting_as(conn, world.own1):
        shared = ids_of(conn, "select offer_id from public.messaging_offer_numbers")
    assert shared == {world.o3, v2}


def test_either_party_expires_an_offer_once_due(conn, world: World):
    conn.execute(
        "update public.messaging_offers set expires_at = now() - interval '1 minute' where id = %s",
        [world.o1],
    )
    with acting_as(conn, world.own1):
        assert (
            conn.execute(
                "update public.messaging_offers set status = 'expired' where id = %s", [world.o1]
            ).rowcount
            == 1
        )
        assert _offer_row(conn, world.o1)[:2] == ("expired", world.own1)


def test_a_stage_in_my_own_name_or_in_nobodys(conn, world: World):
    with acting_as(conn, world.op1):
        conn.execute(
            "update public.messaging_threads set stage = 'offer_sent', stage_changed_by = null"
            " where id = %s",
            [world.t1],
        )
        # Nobody set a derived stage: nobody may speak of it as their own.
        assert (
            attempt(
                conn,
                world.op1,
                "insert into public.messaging_messages (thread_id, sender_id, body, kind, metadata)"
                """ values (%s, %s, 'x', 'system', '{"stage": "offer_sent"}')""",
                [world.t1, world.op1],
            )
            == DENIED
        )
    with acting_as(conn, world.op2):
        # A new stage replaces own1's "lost", in op2's name.
        conn.execute(
            "update public.messaging_threads set stage = 'inquiry', stage_reason = null,"
            " stage_changed_by = %s where id = %s",
            [world.op2, world.t3],
        )
        assert _system(conn, world.t3, world.op2, {"stage": "inquiry"}) > 0


def test_offer_rules_hold_even_if_the_column_privileges_come_back(conn, world: World):
    """Supabase's dashboard may `grant all` again: the trigger still keeps a version fixed."""
    conn.execute("grant all on public.messaging_offers to authenticated")
    for assignment in ("""terms = '{"rent": 1}'""", "version = 9", "made_by = %(own1)s"):
        sql = f"update public.messaging_offers set {assignment} where id = %(o1)s"
        assert attempt(conn, world.op1, sql, world.params()) == DENIED, assignment


def test_offers_are_not_bound_for_trusted_callers(conn, world: World):
    """The app's elevated path (expiry sweep, repairs) is not bound by the state machine."""
    assert (
        conn.execute(
            "update public.messaging_offers set status = 'expired', decided_by = null"
            " where id = %s",
            [world.o1],
        ).rowcount
        == 1
    )


def test_the_owner_writes_no_operator_numbers_for_their_counter(conn, world: World):
    with acting_as(conn, world.own1):
        conn.execute(
            "update public.messaging_offers set status = 'countered' where id = %s", [world.o1]
        )
        v2 = scalar(
            conn,
            "insert into public.messaging_offers (thread_id, version, made_by, terms, expires_at)"
            """ values (%s, 2, %s, '{"rent": 2300}', now() + interval '1 day') returning id""",
            [world.t1, world.own1],
        )
        outcome = attempt(
            conn,
            world.own1,
            "insert into public.messaging_offer_numbers (offer_id, operator_id, inputs, roi)"
            " values (%s, %s, '{}', '{}')",
            [v2, world.own1],
        )
    assert outcome == DENIED


def test_storage_follows_the_operators_plan_and_keeps_unverified_owners_out(conn, world: World):
    """Tier gating in the database (20261204001000): Beta threads (op2's t3) take no files
    from either party; Pro threads (op1's t1, t2) do, from the operator and the verified owner."""
    put = "insert into storage.objects (bucket_id, name, owner, owner_id) values (%s, %s, %s, %s)"

    def upload(user: uuid.UUID, thread: uuid.UUID) -> int | str:
        key = f"{thread}/{uuid.uuid4()}"
        return attempt(conn, user, put, [BUCKET, key, user, str(user)])

    def plan(operator: uuid.UUID, tier: str | None) -> None:
        patch = "- 'tier'" if tier is None else f'|| \'{{"tier": "{tier}"}}\''
        conn.execute(
            f"update auth.users set raw_app_meta_data = raw_app_meta_data {patch} where id = %s",
            [operator],
        )

    plan(world.op2, None)  # no tier at all: Beta
    assert upload(world.op1, world.t1) == 1
    assert upload(world.own1, world.t1) == 1
    assert upload(world.op2, world.t3) == "42501"  # Beta: the operator's own thread
    assert upload(world.own1, world.t3) == "42501"  # ...and its owner
    assert upload(world.own2, world.t2) == "42501"  # a Pro thread, but own2 is unverified
    conn.execute(
        'update auth.users set raw_app_meta_data = raw_app_meta_data || \'{"tier": "premium"}\''
        " where id = %s",
        [world.op2],
    )
    assert upload(world.own1, world.t3) == 1  # the plan changed: at once
