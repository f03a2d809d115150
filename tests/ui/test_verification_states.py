"""VerifyState, StaffState and SessionState's verified flag on real Reflex state objects and a
real database, without a browser: the banner's data, the re-read that follows a decision made
by another process (the SQLite path), a pushed AccountChanged, and the staff page's gate."""

from __future__ import annotations

import inspect
import io
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import reflex as rx
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat import session as session_module
from arbibase_chat.config import get_settings
from arbibase_chat.pages.staff import StaffState
from arbibase_chat.pages.verify import VerifyState
from arbibase_chat.realtime.updates import AccountChanged
from arbibase_chat.services import accounts, tokens, verification
from arbibase_chat.session import SessionState
from tests import factories, files


@pytest.fixture
def app_db(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = next(u for u, engine in dbmod._engines.items() if engine is db)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield db
    monkeypatch.undo()
    get_settings.cache_clear()


def _tab() -> tuple[SessionState, VerifyState, StaffState]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]

    def sub(cls: type[rx.State]) -> Any:
        return root.get_substate(cls.get_full_name().split(".")[1:])

    return sub(SessionState), sub(VerifyState), sub(StaffState)


def _upload() -> Any:
    """What Reflex hands an upload handler for one picked file (a deed PDF)."""
    return SimpleNamespace(name="deed.pdf", filename="deed.pdf", file=io.BytesIO(files.pdf()))


async def _call(state: rx.State, handler: str, *args: Any) -> Any:
    result = type(state).event_handlers[handler].fn(state, *args)
    return await result if inspect.isawaitable(result) else result


def _claim(db: Engine, owner_id: uuid.UUID):
    return verification.submit_claim(
        user_id=owner_id, filename="deed.pdf", source=io.BytesIO(files.pdf()), db=db
    )


async def test_the_banner_follows_the_claim_and_a_decision_from_another_process(
    app_db, monkeypatch
):
    owner = factories.user(app_db, "owner", verified=False)
    session, verify, _staff = _tab()
    session.access_token = tokens.issue_access_token(user_id=owner.id)
    await _call(verify, "load")
    assert session.role == "owner" and session.verified is False
    assert verify.claim_status == ""
    claim = _claim(app_db, owner.id)
    await _call(verify, "recheck")
    assert verify.claim_status == "pending" and verify.claim_submitted
    # The CLI (another process: nothing is pushed on SQLite) approves it.
    verification.approve(staff_id=None, owner_email=owner.email, db=app_db)
    # Within the re-check interval nothing is read again...
    await _call(verify, "recheck")
    assert session.verified is False
    # ...at the next re-read the flag changes, and the views follow (the banner goes).
    later = time.time() + session_module.RECHECK_SECONDS + 1
    monkeypatch.setattr(session_module.time, "time", lambda: later)
    await _call(verify, "recheck")
    assert session.verified is True
    assert verify.claim_status == "approved"
    assert claim.id  # the one approved


async def test_a_pushed_account_change_is_read_at_once(app_db):
    owner = factories.user(app_db, "owner", verified=False)
    session, verify, _staff = _tab()
    session.access_token = tokens.issue_access_token(user_id=owner.id)
    await _call(verify, "load")
    claim = _claim(app_db, owner.id)
    staff = factories.user(app_db, "operator")
    accounts.set_staff(email=staff.email, db=app_db)
    verification.reject(staff_id=staff.id, claim_id=claim.id, reason="Blurry", db=app_db)
    # What realtime/delivery.py does for AccountUpdated: every live view, in order.
    for view in (session, verify):
        await view._live_apply(AccountChanged(owner.id))
    assert verify.claim_status == "rejected" and verify.claim_reason == "Blurry"
    assert session.verified is False
    _claim(app_db, owner.id)
    verification.approve(staff_id=staff.id, owner_email=owner.email, db=app_db)
    await session._live_apply(AccountChanged(owner.id))
    assert session.verified is True and verify.claim_status == "approved"
    # Someone else's change is not this tab's business.
    await verify._live_apply(AccountChanged(uuid.uuid4()))
    assert verify.claim_status == "approved"


async def test_submit_goes_through_the_service(app_db):
    operator = factories.user(app_db, "operator")
    session, verify, _staff = _tab()
    session.access_token = tokens.issue_access_token(user_id=operator.id)

    await _call(verify, "submit", [_upload()])
    assert verify.error == "only owner accounts verify ownership of their properties"
    assert verify.claim_status == ""
    owner = factories.user(app_db, "owner", verified=False)
    session.access_token = tokens.issue_access_token(user_id=owner.id)
    assert await session._current_user_id() == owner.id  # the tab's views reset for them
    await _call(verify, "note_changed", "Deed, page 1")
    await _call(verify, "submit", [_upload()])
    assert verify.claim_status == "pending" and verify.note == "" and verify.error == ""
    mine = verification.my_claim(user_id=owner.id, db=app_db)
    assert mine is not None and mine.note == "Deed, page 1"
    await _call(verify, "submit", "not a list")
    assert verification.my_claim(user_id=owner.id, db=app_db) == mine


async def test_progress_reports_after_the_submit_do_not_bring_the_bar_back(app_db):
    """Reports wait in the tab's queue behind unanswered events; the upload's own request
    does not, so its handler can end before its last reports arrive (pages/upload_progress.py)."""
    owner = factories.user(app_db, "owner", verified=False)
    session, verify, _staff = _tab()
    session.access_token = tokens.issue_access_token(user_id=owner.id)

    await _call(verify, "upload_progress", {"progress": 0.4})
    assert verify.submitting and verify.upload_percent == 40
    await _call(verify, "submit", [_upload()])
    assert verify.claim_status == "pending"
    assert not verify.submitting and verify.upload_percent == 0
    for late in (0.7, 1.0):
        await _call(verify, "upload_progress", {"progress": late})
        assert not verify.submitting and verify.upload_percent == 0
    # The next upload's reports show again; what is not a report changes nothing.
    await _call(verify, "upload_progress", {"progress": 0.2})
    assert verify.submitting and verify.upload_percent == 20
    for junk in ("x", {"progress": "half"}, {"progress": True}, None):
        await _call(verify, "upload_progress", junk)
    assert verify.submitting and verify.upload_percent == 20


async def test_the_staff_page_loads_nothing_for_others_and_decides_for_staff(app_db):
    owner = factories.user(app_db, "owner", verified=False, name="Oscar Owner")
    claim = _claim(app_db, owner.id)
    outsider = factories.user(app_db, "operator")
    session, _verify, staff_page = _tab()
    session.access_token = tokens.issue_access_token(user_id=outsider.id)
    await _call(staff_page, "load")
    assert staff_page.loaded and not staff_page.allowed and staff_page.claims == []
    await _call(staff_page, "approve", str(claim.id))
    await _call(staff_page, "open_reject", str(claim.id))
    assert staff_page.reject_id == ""  # not a claim this page shows
    assert verification.my_claim(user_id=owner.id, db=app_db).status == "pending"  # type: ignore[union-attr]

    accounts.set_staff(email=outsider.email, db=app_db)
    session._checked_at = 0.0  # re-read the account now
    await _call(staff_page, "load")
    assert staff_page.allowed and [c.owner_name for c in staff_page.claims] == ["Oscar Owner"]
    await _call(staff_page, "open_reject", str(claim.id))
    assert staff_page.reject_owner == "Oscar Owner"
    await _call(staff_page, "reject", {"reason": "  "})
    assert verification.my_claim(user_id=owner.id, db=app_db).status == "pending"
    await _call(staff_page, "reject", {"reason": "Name does not match"})
    assert staff_page.claims == [] and staff_page.reject_id == ""
    mine = verification.my_claim(user_id=owner.id, db=app_db)
    assert mine is not None and mine.reason == "Name does not match"
