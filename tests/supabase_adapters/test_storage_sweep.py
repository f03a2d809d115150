"""The upload sweep in Supabase mode: uploads never sent in a message are deleted from the
bucket (object and thumbnail, through supabase-py's remove) and then their rows; an outage
keeps the rows for the next sweep."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from arbibase_chat.db import utcnow
from arbibase_chat.models import MessagingAttachment
from arbibase_chat.services import attachments
from tests import files
from tests.supabase_adapters.conftest import Negotiation
from tests.supabase_adapters.standin import SupabaseStandIn

A = MessagingAttachment


def test_the_sweep_empties_the_bucket_of_unsent_uploads(
    api: TestClient, negotiation: Negotiation, standin: SupabaseStandIn, db
):
    n = negotiation
    path = f"/api/messages/{n.thread_id}/attachments"
    photo = api.post(
        path, files={"file": ("a.jpg", files.image("JPEG"))}, headers=n.operator.headers
    ).json()
    sent = api.post(path, files={"file": ("b.pdf", files.pdf())}, headers=n.operator.headers).json()
    res = api.post(
        f"/api/messages/{n.thread_id}",
        json={"attachmentId": sent["id"]},
        headers=n.operator.headers,
    )
    assert res.status_code == 200, res.text
    with db.begin() as conn:
        conn.execute(update(A).values(created_at=utcnow() - timedelta(days=2)))
    key = f"{n.thread_id}/{photo['id']}"
    assert set(standin.objects()) == {key, f"{key}.thumb.webp", f"{n.thread_id}/{sent['id']}"}

    standin.outage = True
    try:
        assert attachments.sweep_pending_uploads(db=db) == 0
    finally:
        standin.outage = False
    with db.connect() as conn:
        assert len(conn.execute(select(A.id)).all()) == 2  # type: ignore[call-overload]

    assert attachments.sweep_pending_uploads(db=db) == 1
    assert set(standin.objects()) == {f"{n.thread_id}/{sent['id']}"}
    with db.connect() as conn:
        assert [str(i) for i in conn.scalars(select(A.id))] == [sent["id"]]  # type: ignore[call-overload]
