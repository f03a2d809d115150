"""Owner verification (services/verification.py) on SQLite and Postgres: claims, decisions,
who may do what, the proof's checks and who may download it, the events after commit."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from arbibase_chat.models import OwnerVerificationClaim
from arbibase_chat.services import accounts, events, messages, verification
from arbibase_chat.services.errors import (
    AlreadyVerified,
    ClaimDecided,
    ClaimPending,
    Invalid,
    NotFound,
    OwnersOnly,
    StaffOnly,
    TooLarge,
    VerifyOwnership,
)
from tests import files
from tests.factories import Pair, user


def _staff(db: Engine):
    person = user(db, "operator", name="Staff Sam")
    accounts.set_staff(email=person.email, db=db)
    return accounts.get_user(user_id=person.id, db=db)


def _submit(db: Engine, owner_id: uuid.UUID, data: bytes | None = None, **kw):
    return verification.submit_claim(
        user_id=owner_id,
        filename=kw.pop("filename", "deed.pdf"),
        source=io.BytesIO(files.pdf() if data is None else data),
        db=db,
        **kw,
    )


@pytest.fixture
def recorded():
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    yield seen
    unsubscribe()


def test_submit_approve_verifies_the_owner_and_they_can_reply(db: Engine, recorded) -> None:
    pair = Pair(db, owner_verified=False)
    staff = _staff(db)
    with pytest.raises(VerifyOwnership):
        messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="hi", db=db)
    claim = _submit(db, pair.owner.id, note="  Deed attached  ")
    assert claim.status == "pending" and claim.note == "Deed attached"
    assert claim.proof_filename == "deed.pdf" and claim.proof_content_type == "application/pdf"
    assert claim.proof_url == f"/api/verification/claims/{claim.id}/proof"
    assert verification.my_claim(user_id=pair.owner.id, db=db) == claim
    assert [c.id for c in verification.list_pending(user_id=staff.id, db=db)] == [claim.id]
    recorded.clear()
    decided = verification.approve(staff_id=staff.id, claim_id=claim.id, db=db)
    assert decided.status == "approved" and decided.decided_at is not None
    assert accounts.get_user(user_id=pair.owner.id, db=db).verified
    assert events.account_updated(pair.owner.id) in recorded
    messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="hi", db=db)
    assert verification.list_pending(user_id=staff.id, db=db) == []
    with pytest.raises(AlreadyVerified):
        _submit(db, pair.owner.id)


def test_rejection_keeps_the_owner_unverified_with_the_reason_and_they_may_retry(
    db: Engine,
) -> None:
    owner = user(db, "owner", verified=False)
    staff = _staff(db)
    claim = _submit(db, owner.id)
    with pytest.raises(ClaimPending):
        _submit(db, owner.id)
    with pytest.raises(Invalid):
        verification.reject(staff_id=staff.id, claim_id=claim.id, reason="   ", db=db)
    verification.reject(
        staff_id=staff.id, claim_id=claim.id, reason="The deed is unreadable", db=db
    )
    mine = verification.my_claim(user_id=owner.id, db=db)
    assert mine is not None and mine.status == "rejected"
    assert mine.reason == "The deed is unreadable"
    assert not accounts.get_user(user_id=owner.id, db=db).verified
    with pytest.raises(ClaimDecided):
        verification.approve(staff_id=staff.id, claim_id=claim.id, db=db)
    again = _submit(db, owner.id, files.image("PNG"), filename="bill.png")
    assert again.status == "pending" and again.id != claim.id
    assert verification.my_claim(user_id=owner.id, db=db) == again


def test_only_unverified_owner_accounts_submit(db: Engine) -> None:
    operator = user(db, "operator")
    with pytest.raises(OwnersOnly):
        _submit(db, operator.id)
    verified = user(db, "owner", verified=True)
    with pytest.raises(AlreadyVerified):
        _submit(db, verified.id)
    assert verification.my_claim(user_id=operator.id, db=db) is None


def test_only_staff_list_and_decide(db: Engine) -> None:
    owner = user(db, "owner", verified=False)
    other_owner = user(db, "owner", verified=False)
    operator = user(db, "operator")
    claim = _submit(db, owner.id)
    for outsider in (owner, other_owner, operator):
        with pytest.raises(StaffOnly):
            verification.list_pending(user_id=outsider.id, db=db)
        with pytest.raises(StaffOnly):
            verification.approve(staff_id=outsider.id, claim_id=claim.id, db=db)
        with pytest.raises(StaffOnly):
            verification.reject(staff_id=outsider.id, claim_id=claim.id, reason="no", db=db)
    assert not accounts.get_user(user_id=owner.id, db=db).verified
    staff = _staff(db)
    with pytest.raises(NotFound):
        verification.approve(staff_id=staff.id, claim_id=uuid.uuid4(), db=db)


def test_staff_never_decide_their_own_claim(db: Engine) -> None:
    owner = user(db, "owner", verified=False)
    claim = _submit(db, owner.id)
    accounts.set_staff(email=owner.email, db=db)
    with pytest.raises(NotFound):
        verification.approve(staff_id=owner.id, claim_id=claim.id, db=db)
    assert not accounts.get_user(user_id=owner.id, db=db).verified


def test_the_proof_gets_the_attachment_checks(db: Engine) -> None:
    owner = user(db, "owner", verified=False)
    with pytest.raises(Invalid, match="markup"):
        _submit(db, owner.id, files.HTML, filename="deed.html")
    with pytest.raises(Invalid, match="not a real PDF"):
        _submit(db, owner.id, b"just text", filename="deed.pdf")
    with pytest.raises(Invalid, match="not a proof document"):
        _submit(db, owner.id, files.xlsx(), filename="sheet.xlsx")
    with pytest.raises(Invalid, match="empty"):
        _submit(db, owner.id, b"", filename="deed.pdf")
    assert verification.my_claim(user_id=owner.id, db=db) is None


def test_the_proof_size_limit(db: Engine, monkeypatch) -> None:
    from arbibase_chat.config import get_settings

    monkeypatch.setattr(get_settings(), "max_attachment_bytes", 1024)
    owner = user(db, "owner", verified=False)
    with pytest.raises(TooLarge):
        _submit(db, owner.id, files.pdf() + b"0" * 2048)
    assert verification.my_claim(user_id=owner.id, db=db) is None


def test_the_proof_is_for_the_owner_and_staff_only(db: Engine) -> None:
    owner = user(db, "owner", verified=False)
    other = user(db, "owner", verified=False)
    operator = user(db, "operator")
    staff = _staff(db)
    claim = _submit(db, owner.id)
    for reader in (owner, staff):
        public, where = verification.locate_proof(user_id=reader.id, claim_id=claim.id, db=db)
        assert isinstance(where, Path) and where.read_bytes() == files.pdf()
        assert public.id == claim.id
    assert f"verification/{owner.id}/{claim.id}" in str(where)
    for stranger in (other, operator):
        with pytest.raises(NotFound):
            verification.locate_proof(user_id=stranger.id, claim_id=claim.id, db=db)
    with pytest.raises(NotFound):
        verification.locate_proof(user_id=owner.id, claim_id=uuid.uuid4(), db=db)
    # A stranger's claim is invisible to my own reads too.
    assert verification.my_claim(user_id=other.id, db=db) is None


def test_the_cli_path_verifies_directly_and_rejects_only_a_pending_claim(db: Engine) -> None:
    owner = user(db, "owner", verified=False)
    with pytest.raises(NotFound):
        verification.reject(staff_id=None, owner_email=owner.email, reason="no", db=db)
    decided = verification.approve(staff_id=None, owner_email=owner.email.upper(), db=db)
    assert decided.status == "approved" and not decided.has_proof
    assert accounts.get_user(user_id=owner.id, db=db).verified
    with pytest.raises(AlreadyVerified):
        verification.approve(staff_id=None, owner_email=owner.email, db=db)
    with pytest.raises(NotFound):
        verification.approve(staff_id=None, owner_email="nobody@example.com", db=db)
    operator = user(db, "operator")
    with pytest.raises(OwnersOnly):
        verification.approve(staff_id=None, owner_email=operator.email, db=db)
    # A pending claim is what the CLI decides when there is one.
    second = user(db, "owner", verified=False)
    claim = _submit(db, second.id)
    verification.reject(staff_id=None, owner_email=second.email, reason="Blurry scan", db=db)
    with Session(db) as session:
        row = session.scalar(
            select(OwnerVerificationClaim).where(OwnerVerificationClaim.id == claim.id)
        )
        assert row is not None and row.status == "rejected" and row.decided_by is None


def test_set_tier_and_staff(db: Engine) -> None:
    person = user(db, "owner", verified=False)
    assert accounts.set_tier(email=person.email, tier="premium", db=db).tier == "premium"
    with pytest.raises(Invalid):
        accounts.set_tier(email=person.email, tier="gold", db=db)
    with pytest.raises(NotFound):
        accounts.set_staff(email="ghost@example.com", db=db)
    assert accounts.set_staff(email=person.email, db=db).is_staff
    assert accounts.get_user(user_id=person.id, db=db).is_staff
