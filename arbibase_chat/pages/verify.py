"""`VerifyState`: my ownership verification claim, and submitting one (the /verify page and
the thread page's banner; views in pages/verify_view.py).

Every public method is an event the browser may send with any payload (allow-listed in
tests/test_event_surface.py): identity comes from SessionState only, and the service decides
who may submit and checks the file (size while streaming, type from the content). A live view:
when the claim is decided (or the account changes) the hub pushes `AccountChanged` and the
claim is read again, so the banner and this page follow without a reload.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.models import ClaimPublic
from arbibase_chat.pages import upload_progress as upload_progress_reports
from arbibase_chat.realtime import views as live
from arbibase_chat.realtime.updates import AccountChanged, Update
from arbibase_chat.services import verification
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view

PROOF_UPLOAD_ID = "proof-upload"
PROOF_NOTE_ID = "proof-note"
PROOF_ACCEPT = {
    "application/pdf": [".pdf"],
    "image/png": [".png"],
    "image/jpeg": [".jpg", ".jpeg"],
    "image/gif": [".gif"],
    "image/webp": [".webp"],
    "application/msword": [".doc"],
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": [".docx"],
}


@live.live_view
@user_view
class VerifyState(rx.State):
    # My newest claim ("" when none): what the page and the thread banner show.
    claim_status: str = ""
    claim_submitted: str = ""  # a date in the browser's time zone
    claim_decided: str = ""
    claim_reason: str = ""
    claim_note: str = ""
    proof_name: str = ""
    proof_url: str = ""
    # The form.
    note: str = ""
    submitting: bool = False
    upload_percent: int = 0
    error: str = ""
    _owner_id: str = ""
    # Which upload a late progress report belongs to (pages/upload_progress.py).
    _uploads_done: int = 0
    _progress_ends: int = 0

    # --- helpers (backend only) -------------------------------------------------------------

    async def _session(self) -> SessionState:
        return await self.get_state(SessionState)

    async def _unverified_owner(self) -> uuid.UUID | None:
        """The signed-in user when they are an unverified owner (else None: nothing to show)."""
        session = await self._session()
        user_id = await session._current_user_id()
        if user_id is None or session.role != "owner" or session.verified:
            return None
        return user_id

    async def _date(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone((await self._session())._zone())
        return f"{local:%b} {local.day}, {local.year}"

    async def _show(self, claim: ClaimPublic | None) -> None:
        values = {
            "claim_status": claim.status if claim else "",
            "claim_submitted": await self._date(claim.created_at if claim else None),
            "claim_decided": await self._date(claim.decided_at if claim else None),
            "claim_reason": (claim.reason or "") if claim else "",
            "claim_note": (claim.note or "") if claim else "",
            "proof_name": (claim.proof_filename or "") if claim else "",
            "proof_url": (claim.proof_url or "") if claim else "",
        }
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    async def _refresh(self) -> None:
        user_id = await self._unverified_owner()
        session = await self._session()
        if user_id is None:
            # Verified (the banner goes), or not an owner: the claim no longer matters, but
            # the page still shows the outcome of the one just approved.
            if session.role == "owner" and session._user_id:
                owner = uuid.UUID(session._user_id)
                self._owner_id = str(owner)
                await self._show(await aio.call(verification.my_claim, user_id=owner))
            else:
                await self._show(None)
            return
        self._owner_id = str(user_id)
        await self._show(await aio.call(verification.my_claim, user_id=user_id))

    # --- page events ------------------------------------------------------------------------

    @rx.event
    async def load(self):
        """On load of /verify and of a thread (its banner)."""
        session = await self._session()
        if await session._current_user_id() is None:
            return rx.redirect(routes.LOGIN)
        try:
            await self._refresh()
        except DomainError:
            await self._show(None)
        live.register(self.router.session.client_token, uuid.UUID(session._user_id))
        return None

    @rx.event
    async def recheck(self):
        """Clicked every 30 s by assets/chat.js while the banner shows: on SQLite the CLI's
        decision (another process) cannot be pushed, so the open page reads it itself."""
        if await (await self._session())._current_user_id() is None:
            return
        if self.claim_status in ("pending", "") and await self._unverified_owner() is not None:
            await self._refresh()

    @rx.event
    def note_changed(self, value: str):
        if isinstance(value, str):
            self.note = value[: verification.MAX_NOTE_CHARS]

    @rx.event
    def upload_progress(self, progress: dict[str, Any]):
        fraction = upload_progress_reports.current_fraction(self, progress)
        if fraction is not None:
            self.upload_percent = int(fraction * 100)
            self.submitting = fraction < 1

    @rx.event
    async def submit(self, files: list[rx.UploadFile]):
        """The proof (one file) and the note: stored through the service's checks."""
        try:
            return await self._submit(files)
        finally:
            self._uploads_done += 1

    async def _submit(self, files: list[rx.UploadFile]) -> Any:
        session = await self._session()
        user_id = await session._current_user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        if not isinstance(files, list) or len(files) != 1:
            self.submitting = False
            return rx.toast.error("Choose one file: a PDF, a photo or a Word document.")
        upload = files[0]
        try:
            claim = await aio.call(
                verification.submit_claim,
                user_id=user_id,
                filename=upload.name or upload.filename or "file",
                source=upload.file,
                note=self.note,
            )
        except DomainError as exc:
            self.error = exc.message
            return rx.toast.error(exc.message, duration=8000)
        finally:
            self.submitting, self.upload_percent = False, 0
        self.error, self.note = "", ""
        self._owner_id = str(user_id)
        await self._show(claim)
        return [
            rx.clear_selected_files(PROOF_UPLOAD_ID),
            rx.set_value(PROOF_NOTE_ID, ""),
            rx.toast.success("Thanks! Your proof is under review."),
        ]

    # --- live view (realtime/views.py) ------------------------------------------------------

    async def _live_apply(self, update: Update) -> str | None:
        if isinstance(update, AccountChanged) and self._owner_id == str(update.user_id):
            with contextlib.suppress(DomainError):
                await self._refresh()
        return None

    async def _live_resync(self, user_id: uuid.UUID) -> str | None:
        if self._owner_id == str(user_id):
            with contextlib.suppress(DomainError):
                await self._refresh()
        return None
