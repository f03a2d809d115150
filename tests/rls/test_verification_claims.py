"""Owner verification claims under RLS (alembic 0008), attacked in raw SQL as each user:

    claimant (unverified owner) with a pending claim c_1 (proof, note); other (another
    unverified owner) with a pending claim c_2; staff (an operator with users.is_staff);
    op_a / own_a of the shared world (an operator, a verified owner).

Nobody but the claimant and staff reads a claim; only staff decide, never their own, in their
own name, a rejection with a reason; approval verifies the owner (the trigger); nobody makes
themselves staff or verified; an owner submits only for themselves, pending, while unverified.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from arbibase_chat.services import accounts, verification
from tests import factories, files
from tests.rls.conftest import World, attempt
from tests.rls.test_attacks import DENIED, upd

pytestmark = pytest.mark.postgres

CLAIMS = "owner_verification_claims"


@pytest.fixture
def claims(world: World) -> World:
    db = world.db
    ids = world.ids
    for name in ("claimant", "other"):
        owner = factories.user(db, "owner", verified=False)
        ids[name] = owner.id
        ids[f"c_{'1' if name == 'claimant' else '2'}"] = verification.submit_claim(
            user_id=owner.id,
            filename="deed.pdf",
            source=io.BytesIO(files.pdf()),
            note=f"note of {name}",
            db=db,
        ).id
    staff = factories.user(db, "operator")
    accounts.set_staff(email=staff.email, db=db)
    ids["staff"] = staff.id
    return world


def _decide(status: str, decided_by: str, reason: str = "null", claim: str = "c_1") -> str:
    return upd(
        CLAIMS,
        f"status = '{status}', decided_by = :{decided_by}, decided_at = now(), reason = {reason}",
        f"id = :{claim}",
    )


def _insert(owner: str, status: str = "pending", key: str = "") -> str:
    key = key or f"'verification/' || cast(:{owner} as text) || '/' || cast(:new as text)"
    return (
        f"insert into {CLAIMS} (id, owner_id, status, proof_key, created_at)"
        f" values (cast(:new as uuid), cast(:{owner} as uuid), '{status}', {key}, now())"
    )


def _verified(world: World, name: str) -> bool:
    with world.db.connect() as conn:
        return bool(
            conn.execute(
                text("select verified from users where id = :id"), {"id": world.ids[name]}
            ).scalar_one()
        )


@pytest.mark.parametrize("reader", ["other", "op_a", "own_a"])
def test_strangers_read_no_claim(claims: World, reader: str) -> None:
    sql = f"select * from {CLAIMS} where id = :c_1"
    assert attempt(claims.db, claims.ids[reader], sql, claims.params()) == 0
    assert attempt(claims.db, claims.ids[reader], f"select * from {CLAIMS}", claims.params()) == (
        1 if reader == "other" else 0
    )


def test_the_claimant_reads_their_own_and_staff_read_all(claims: World) -> None:
    every = f"select * from {CLAIMS}"
    assert attempt(claims.db, claims.claimant, every, claims.params()) == 1
    assert attempt(claims.db, claims.staff, every, claims.params()) == 2


@pytest.mark.parametrize(
    ("actor", "sql"),
    [
        pytest.param("claimant", _decide("approved", "claimant"), id="approve-myself"),
        pytest.param("other", _decide("approved", "other"), id="other-owner-approves"),
        pytest.param("op_a", _decide("rejected", "op_a", "'no'"), id="operator-rejects"),
        pytest.param("own_a", _decide("approved", "own_a"), id="verified-owner-approves"),
    ],
)
def test_only_staff_decide(claims: World, actor: str, sql: str) -> None:
    assert attempt(claims.db, claims.ids[actor], sql, claims.params()) == 0  # invisible
    assert not _verified(claims, "claimant")


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(_decide("approved", "claimant"), id="in-someone-elses-name"),
        pytest.param(_decide("rejected", "staff"), id="reject-without-reason"),
        pytest.param(_decide("rejected", "staff", "'  '"), id="reject-blank-reason"),
        pytest.param(upd(CLAIMS, "owner_id = :staff", "id = :c_1"), id="move-the-claim"),
        pytest.param(upd(CLAIMS, "status = 'pending'", "id = :c_1"), id="stay-pending"),
    ],
)
def test_staff_decide_only_properly(claims: World, sql: str) -> None:
    assert attempt(claims.db, claims.staff, sql, claims.params()) == DENIED


def test_staff_approve_and_the_owner_is_verified(claims: World) -> None:
    # In raw SQL as staff it passes (rolled back by attempt()); then through the service.
    assert attempt(claims.db, claims.staff, _decide("approved", "staff"), claims.params()) == 1
    assert not _verified(claims, "claimant")
    verification.approve(staff_id=claims.staff, claim_id=claims.c_1, db=claims.db)
    assert _verified(claims, "claimant")
    # Decided: not again (the update policy sees pending claims only).
    assert (
        attempt(claims.db, claims.staff, _decide("rejected", "staff", "'x'"), claims.params()) == 0
    )


def test_staff_never_decide_their_own_claim(claims: World) -> None:
    with claims.db.begin() as conn:
        conn.execute(text("update users set is_staff = true where id = :id"), {"id": claims.other})
    sql = _decide("approved", "other", claim="c_2")
    assert attempt(claims.db, claims.other, sql, claims.params()) == 0
    assert not _verified(claims, "other")


@pytest.mark.parametrize("actor", ["claimant", "op_a", "own_a", "staff"])
@pytest.mark.parametrize(
    "assignment", ["is_staff = true", "verified = true", "tier = 'premium'", "role = 'operator'"]
)
def test_nobody_writes_users(claims: World, actor: str, assignment: str) -> None:
    sql = upd("users", assignment, f"id = :{actor}")
    assert attempt(claims.db, claims.ids[actor], sql, claims.params()) == DENIED


@pytest.mark.parametrize(
    ("actor", "sql"),
    [
        pytest.param("claimant", _insert("other"), id="for-someone-else"),
        pytest.param("own_a", _insert("own_a"), id="verified-owner"),
        pytest.param("op_a", _insert("op_a"), id="operator"),
        pytest.param("claimant", _insert("claimant", "approved"), id="approved-at-once"),
        pytest.param("claimant", _insert("claimant", key="'verification/x'"), id="foreign-key"),
    ],
)
def test_owners_submit_only_their_own_pending_claim(claims: World, actor: str, sql: str) -> None:
    assert attempt(claims.db, claims.ids[actor], sql, claims.params()) == DENIED


def test_a_rejected_owner_submits_again_but_only_one_pending(claims: World) -> None:
    # The claimant's claim is pending: a second one breaks the partial unique index.
    assert attempt(claims.db, claims.claimant, _insert("claimant"), claims.params()) == "23505"
    verification.reject(staff_id=claims.staff, claim_id=claims.c_1, reason="Blurry", db=claims.db)
    assert attempt(claims.db, claims.claimant, _insert("claimant"), claims.params()) == 1
    assert attempt(claims.db, claims.claimant, f"delete from {CLAIMS}", claims.params()) == DENIED


def test_the_app_role_is_the_control(claims: World) -> None:
    """The same decision on the app's own (elevated) connection goes through."""
    assert attempt(claims.db, None, _decide("approved", "staff"), claims.params()) == 1
