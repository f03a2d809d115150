"""Supabase mode: approving an owner's claim also sets their `app_metadata.verified` through
GoTrue's admin API (the wire-format stand-in), which the Supabase policies and every later
sign-in read; when Auth does not answer, nothing is approved."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy.engine import Engine

from arbibase_chat.services import accounts, identity, verification
from arbibase_chat.services.errors import Unavailable
from tests import files
from tests.supabase_adapters.conftest import person
from tests.supabase_adapters.standin import SupabaseStandIn


def _setup(standin: SupabaseStandIn, db: Engine):
    owner = person(standin, db, "owner", verified=False)
    staff = person(standin, db, "operator")
    accounts.set_staff(email=staff.user.email, db=db)
    claim = verification.submit_claim(
        user_id=owner.user.id, filename="deed.pdf", source=io.BytesIO(files.pdf()), db=db
    )
    return owner, staff, claim


def test_approval_sets_app_metadata_verified_with_the_service_key(
    standin: SupabaseStandIn, db: Engine, supabase_mode: None
) -> None:
    owner, staff, claim = _setup(standin, db)
    # The proof went to the private bucket under the verification prefix, with the service key.
    assert f"verification/{owner.user.id}/{claim.id}" in standin.objects()
    verification.approve(staff_id=staff.user.id, claim_id=claim.id, db=db)
    (put,) = standin.seen("PUT", f"/auth/v1/admin/users/{owner.user.id}")
    assert json.loads(put.body) == {"app_metadata": {"verified": True}}
    assert put.headers["authorization"] == f"Bearer {standin.service_role_key}"
    assert owner.auth.app_metadata["verified"] is True
    # A later sign-in (a fresh token, synced from app_metadata) keeps them verified.
    token = standin.access_token(owner.auth)
    assert identity.resolve_session(token=token, db=db).user.verified is True


def test_nothing_is_approved_when_auth_does_not_answer(
    standin: SupabaseStandIn, db: Engine, supabase_mode: None
) -> None:
    owner, staff, claim = _setup(standin, db)
    standin.outage = True
    try:
        with pytest.raises(Unavailable):
            verification.approve(staff_id=staff.user.id, claim_id=claim.id, db=db)
    finally:
        standin.outage = False
    mine = verification.my_claim(user_id=owner.user.id, db=db)
    assert mine is not None and mine.status == "pending"
    assert accounts.get_user(user_id=owner.user.id, db=db).verified is False
    assert owner.auth.app_metadata.get("verified") is False
