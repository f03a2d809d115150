"""Uploads have limits (a storage quota and a cap on files not yet sent) and uploads never sent
are swept after a grace period, rows and stored objects, by several workers at once safely."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine

from arbibase_chat import maintenance
from arbibase_chat.adapters.storage import LocalDiskStorage, StorageError
from arbibase_chat.config import PROJECT_ROOT, get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import MessagingAttachment
from arbibase_chat.services import attachments, messages
from arbibase_chat.services.errors import Invalid, QuotaExceeded, TooManyPending
from tests import files
from tests.factories import Pair

A = MessagingAttachment


def _upload(pair: Pair, data: bytes, name: str = "notes.txt", user=None):
    return attachments.store_attachment(
        user_id=(user or pair.operator).id,
        thread_id=pair.thread_id,
        filename=name,
        source=io.BytesIO(data),
        db=pair.db,
    )


def _stored(pair: Pair) -> set[str]:
    folder = get_settings().attachments_dir / str(pair.thread_id)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.fixture
def limits(monkeypatch):
    def set_limits(*, quota: int | None = None, pending: int | None = None) -> None:
        if quota is not None:
            monkeypatch.setattr(get_settings(), "attachment_quota_bytes", quota)
        if pending is not None:
            monkeypatch.setattr(get_settings(), "max_pending_uploads", pending)

    return set_limits


def test_defaults():
    settings = get_settings()
    assert settings.attachment_quota_bytes == 500 * 1024 * 1024
    assert settings.max_pending_uploads == 20
    assert settings.pending_upload_grace_seconds == 24 * 3600
    assert settings.upload_sweep_interval_seconds == 3600


# --- quota and pending cap ------------------------------------------------------------------


def test_the_storage_quota_counts_every_file_of_the_user(db, limits):
    limits(quota=10_000)
    pair = Pair(db)
    first = _upload(pair, b"a" * 6_000)
    # Sent in a message: it still counts (it is still stored).
    messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="", attachment_id=first.id, db=db
    )
    with pytest.raises(QuotaExceeded) as err:
        _upload(pair, b"b" * 6_000)
    assert err.value.code == "storage_quota_exceeded" and err.value.field == "file"
    assert (
        "9.76562 KB storage quota" in err.value.message and "3.90625 KB left" in err.value.message
    )
    assert _stored(pair) == {str(first.id)}
    incoming = get_settings().attachments_dir / attachments.INCOMING_DIR
    assert list(incoming.iterdir()) == []
    # What fits still goes in; the other side has a quota of their own.
    _upload(pair, b"c" * 4_000)
    _upload(pair, b"d" * 9_000, user=pair.owner)
    # Exactly full: refused before a byte is read.
    source = io.BytesIO(b"e")
    with pytest.raises(QuotaExceeded):
        attachments.store_attachment(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            filename="e.txt",
            source=source,
            db=db,
        )
    assert source.tell() == 0


def test_uploads_not_yet_sent_are_capped(db, limits):
    limits(pending=3)
    pair = Pair(db)
    pending = [_upload(pair, f"file {i}".encode()) for i in range(3)]
    with pytest.raises(TooManyPending) as err:
        _upload(pair, b"one more")
    assert err.value.code == "too_many_pending_uploads" and err.value.field == "file"
    assert "3 uploaded files not sent in a message yet (at most 3)" in err.value.message
    assert "deleted after 24 hours" in err.value.message
    with pytest.raises(TooManyPending):
        attachments.check_upload(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    _upload(pair, b"theirs", user=pair.owner)  # per user
    messages.send_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        body="",
        attachment_id=pending[0].id,
        db=db,
    )
    _upload(pair, b"room again")


def test_concurrent_uploads_cannot_overshoot_the_quota(db, limits):
    limits(quota=10_000)
    pair = Pair(db)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def one(i: int) -> None:
        start.wait()
        try:
            _upload(pair, bytes([65 + i]) * 3_000, name=f"f{i}.txt")
            outcomes.append("stored")
        except QuotaExceeded:
            outcomes.append("refused")

    workers = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["stored"] * 3
    assert len(_stored(pair)) == 3


# --- the sweep --------------------------------------------------------------------------------


def _age(db: Engine, attachment_id: uuid.UUID, hours: float) -> None:
    with db.begin() as conn:
        conn.execute(
            update(A)
            .where(A.id == attachment_id)  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(hours=hours))
        )


def _ids(db: Engine) -> set[uuid.UUID]:
    with db.connect() as conn:
        return set(conn.scalars(select(A.id)))  # type: ignore[call-overload]


def test_the_sweep_deletes_only_old_uploads_never_sent(db):
    pair = Pair(db)
    old_image = _upload(pair, files.image("PNG"), name="old.png")
    old_text = _upload(pair, b"old")
    sent = _upload(pair, b"sent")
    fresh = _upload(pair, b"fresh")
    messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="", attachment_id=sent.id, db=db
    )
    for att in (old_image, old_text, sent):
        _age(db, att.id, hours=25)
    _age(db, fresh.id, hours=23)
    assert f"{old_image.id}.thumb.webp" in _stored(pair)

    assert attachments.sweep_pending_uploads(db=db) == 2
    assert _ids(db) == {sent.id, fresh.id}
    assert _stored(pair) == {str(sent.id), str(fresh.id)}
    # A send that still names a swept file is refused, not given a file without bytes.
    with pytest.raises(Invalid):
        messages.send_message(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="",
            attachment_id=old_text.id,
            db=db,
        )
    assert attachments.sweep_pending_uploads(db=db) == 0
    assert attachments.sweep_pending_uploads(older_than_seconds=0, db=db) == 1  # fresh
    assert _ids(db) == {sent.id}


def test_an_object_the_backend_cannot_delete_keeps_its_row(db, monkeypatch):
    pair = Pair(db)
    stuck, fine = _upload(pair, b"stuck"), _upload(pair, b"fine")
    real = LocalDiskStorage(get_settings().attachments_dir)

    class Flaky:
        kind = "local"

        def delete(self, key: str) -> None:
            if key.endswith(str(stuck.id)):
                raise StorageError("storage is down")
            real.delete(key)

    monkeypatch.setattr(attachments, "get_storage", lambda: Flaky())
    assert attachments.sweep_pending_uploads(older_than_seconds=0, db=db) == 1
    assert _ids(db) == {stuck.id} and _stored(pair) == {str(stuck.id)}
    monkeypatch.undo()
    assert attachments.sweep_pending_uploads(older_than_seconds=0, db=db) == 1
    assert _ids(db) == set() and _stored(pair) == set()
    del fine


def test_several_sweeps_at_once_delete_each_upload_once(db):
    pair = Pair(db)
    uploads = [_upload(pair, f"{i}".encode(), name=f"{i}.txt") for i in range(18)]
    counts: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def sweep() -> None:
        start.wait()
        try:
            counts.append(attachments.sweep_pending_uploads(older_than_seconds=0, batch=2, db=db))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=sweep) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == [] and sum(counts) == len(uploads)
    assert _ids(db) == set() and _stored(pair) == set()


# Row locks are a PostgreSQL matter (SQLite locks the whole database): run on Postgres only.
@pytest.mark.parametrize(
    "db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_row_held_by_a_send_is_skipped_not_waited_for(db):
    assert db.dialect.name == "postgresql"
    pair = Pair(db)
    held, free = _upload(pair, b"held"), _upload(pair, b"free")
    with db.connect() as conn:
        # What claim_for_message does inside a send: lock the attachment's row.
        conn.execute(
            text("select 1 from messaging_attachments where id = :id for update"), {"id": held.id}
        )
        started = time.monotonic()
        assert attachments.sweep_pending_uploads(older_than_seconds=0, db=db) == 1
        assert time.monotonic() - started < 5
        conn.rollback()
    assert _ids(db) == {held.id}
    assert attachments.sweep_pending_uploads(older_than_seconds=0, db=db) == 1
    del free


def test_the_cli_sweeps(db):
    pair = Pair(db)
    old, kept = _upload(pair, b"old"), _upload(pair, b"kept")
    _age(db, old.id, hours=48)
    env = {
        **os.environ,
        "DATABASE_URL": db.url.render_as_string(hide_password=False),
        "ATTACHMENTS_DIR": str(get_settings().attachments_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "arbibase_chat.cli", "sweep-uploads"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "deleted 1 upload(s)" in done.stdout
    assert _ids(db) == {kept.id} and _stored(pair) == {str(kept.id)}


def test_the_maintenance_task_sweeps_off_the_event_loop(db, monkeypatch):
    pair = Pair(db)
    old = _upload(pair, b"old")
    _age(db, old.id, hours=48)
    calls: list[str] = []
    real = attachments.sweep_pending_uploads

    def sweep(**kwargs):
        calls.append(threading.current_thread().name)
        return real(db=db, **kwargs)

    monkeypatch.setattr(attachments, "sweep_pending_uploads", sweep)
    monkeypatch.setattr(get_settings(), "upload_sweep_interval_seconds", 1)

    async def run() -> None:
        task = asyncio.create_task(maintenance.run_sweeps(first_delay=0))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if _ids(db) == set():
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert _ids(db) == set() and _stored(pair) == set()
    assert calls and threading.main_thread().name not in calls

    async def lifespan() -> None:  # starts and stops cleanly
        async with maintenance.lifespan(app=None):
            await asyncio.sleep(0)

    asyncio.run(lifespan())


def test_a_failed_sweep_is_logged_and_the_next_one_runs(monkeypatch, caplog):
    def broken(**_kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(attachments, "sweep_pending_uploads", broken)
    assert asyncio.run(maintenance.sweep_once()) == 0
    assert "upload sweep failed" in caplog.text
