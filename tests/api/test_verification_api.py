"""The owner verification routes end to end through the API: submit, review, decide, download."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from arbibase_chat.services import accounts
from tests import files
from tests.api.conftest import Actor
from tests.factories import user


def test_owner_submits_staff_rejects_then_approves(client, db: Engine) -> None:
    owner = Actor(user(db, "owner", verified=False, name="Oscar Owner"))
    staff_user = user(db, "operator", name="Sam Staff")
    accounts.set_staff(email=staff_user.email, db=db)
    staff = Actor(staff_user)
    assert client.get("/api/verification", headers=owner.auth).json() == {"claim": None}
    sent = client.post(
        "/api/verification",
        headers=owner.auth,
        files={"file": ("deed.pdf", files.pdf(), "application/pdf")},
        data={"note": "Deed"},
    )
    assert sent.status_code == 201, sent.text
    claim = sent.json()
    assert claim["status"] == "pending" and claim["note"] == "Deed"
    again = client.post(
        "/api/verification",
        headers=owner.auth,
        files={"file": ("deed.pdf", files.pdf(), "application/pdf")},
    )
    assert again.status_code == 409 and again.json()["code"] == "claim_pending"
    listed = client.get("/api/staff/verifications", headers=staff.auth).json()["data"]
    assert [c["owner_name"] for c in listed] == ["Oscar Owner"]
    proof = client.get(claim["proof_url"], headers=staff.auth)
    assert proof.status_code == 200 and proof.content == files.pdf()
    assert proof.headers["content-disposition"].startswith("attachment")
    assert client.get(claim["proof_url"], headers=owner.auth).status_code == 200
    empty = client.post(
        f"/api/staff/verifications/{claim['id']}/reject", headers=staff.auth, json={"reason": ""}
    )
    assert empty.status_code == 422
    rejected = client.post(
        f"/api/staff/verifications/{claim['id']}/reject",
        headers=staff.auth,
        json={"reason": "Unreadable scan"},
    )
    assert rejected.status_code == 200 and rejected.json()["reason"] == "Unreadable scan"
    mine = client.get("/api/verification", headers=owner.auth).json()["claim"]
    assert mine["status"] == "rejected" and mine["reason"] == "Unreadable scan"
    retry = client.post(
        "/api/verification",
        headers=owner.auth,
        files={"file": ("bill.png", files.image("PNG"), "image/png")},
    )
    assert retry.status_code == 201
    approved = client.post(
        f"/api/staff/verifications/{retry.json()['id']}/approve", headers=staff.auth
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert client.get("/api/me", headers=owner.auth).json()["verified"] is True


def test_a_refused_proof_says_why(client, db: Engine) -> None:
    owner = Actor(user(db, "owner", verified=False))
    res = client.post(
        "/api/verification",
        headers=owner.auth,
        files={"file": ("deed.html", files.HTML, "application/pdf")},
    )
    assert res.status_code == 422 and res.json()["field"] == "file"
    assert client.get("/api/verification", headers=owner.auth).json() == {"claim": None}
