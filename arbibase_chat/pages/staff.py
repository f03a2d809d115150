"""`/staff/verifications`: ArbiBase staff review owners' verification claims.

Staff accounts only: for anyone else the page says "not found" and holds no data (the
service answers StaffOnly and nothing is loaded). Approve, or reject with a reason (a dialog;
the reason is required and shown to the owner). Every public method is an event the browser
may send with any payload (tests/test_event_surface.py): identity from SessionState only,
authorization in services/verification.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.models import ClaimPublic
from arbibase_chat.pages.inbox_view import inbox_navbar
from arbibase_chat.services import incoming, verification
from arbibase_chat.services.errors import DomainError, StaffOnly
from arbibase_chat.session import SessionState, user_view


@dataclass
class ClaimRow:
    id: str = ""
    owner_name: str = ""
    owner_email: str = ""
    submitted: str = ""
    note: str = ""
    proof_name: str = ""
    proof_size: str = ""
    proof_url: str = ""


@user_view
class StaffState(rx.State):
    allowed: bool = False
    loaded: bool = False
    claims: list[ClaimRow] = []
    # The reject dialog: which claim, whose.
    reject_id: str = ""
    reject_owner: str = ""
    busy_id: str = ""

    async def _staff(self) -> uuid.UUID | None:
        return await (await self.get_state(SessionState))._current_user_id()

    async def _row(self, claim: ClaimPublic) -> ClaimRow:
        local = claim.created_at.astimezone((await self.get_state(SessionState))._zone())
        return ClaimRow(
            id=str(claim.id),
            owner_name=claim.owner_name,
            owner_email=claim.owner_email,
            submitted=f"{local:%b} {local.day}, {local.year}, {local:%H:%M}",
            note=claim.note or "",
            proof_name=claim.proof_filename or "",
            proof_size=incoming.human_size(claim.proof_size_bytes or 0),
            proof_url=claim.proof_url or "",
        )

    async def _reload(self, staff_id: uuid.UUID) -> None:
        try:
            pending = await aio.call(verification.list_pending, user_id=staff_id)
        except StaffOnly:
            self.allowed, self.claims = False, []
            return
        self.allowed = True
        self.claims = [await self._row(c) for c in pending]

    @rx.event
    async def load(self):
        staff_id = await self._staff()
        if staff_id is None:
            return rx.redirect(routes.LOGIN)
        await self._reload(staff_id)
        self.loaded = True
        return None

    @rx.event
    async def approve(self, claim_id: str):
        staff_id = await self._staff()
        if staff_id is None:
            return rx.redirect(routes.LOGIN)
        self.busy_id = claim_id if isinstance(claim_id, str) else ""
        try:
            claim = await aio.call(verification.approve, staff_id=staff_id, claim_id=claim_id)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        finally:
            self.busy_id = ""
            await self._reload(staff_id)
        return rx.toast.success(f"{claim.owner_name} is verified.")

    @rx.event
    def open_reject(self, claim_id: str):
        row = next((c for c in self.claims if c.id == claim_id), None)
        if row is not None:  # only a claim this page shows (loaded for staff)
            self.reject_id, self.reject_owner = row.id, row.owner_name

    @rx.event
    def reject_dialog_changed(self, open: bool):
        if open is not True:
            self.reject_id = self.reject_owner = ""

    @rx.event
    async def reject(self, form_data: dict[str, Any]):
        staff_id = await self._staff()
        if staff_id is None:
            return rx.redirect(routes.LOGIN)
        reason = form_data.get("reason") if isinstance(form_data, dict) else None
        if not self.reject_id:
            return None
        try:
            claim = await aio.call(
                verification.reject, staff_id=staff_id, claim_id=self.reject_id, reason=reason
            )
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.reject_id = self.reject_owner = ""
        await self._reload(staff_id)
        return rx.toast.success(f"Rejected; {claim.owner_name} sees your reason.")


# --- view -----------------------------------------------------------------------------------


def _claim_card(row: ClaimRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text(row.owner_name, weight="bold", size="3"),
                    rx.text(row.owner_email, size="2", color=rx.color("gray", 11)),
                    spacing="0",
                    min_width="0",
                ),
                rx.spacer(),
                rx.badge("Submitted ", row.submitted, variant="soft", color_scheme="amber"),
                width="100%",
                align="start",
                wrap="wrap",
                spacing="2",
            ),
            rx.cond(
                row.note != "",
                rx.blockquote(row.note, size="2", class_name="claim-note"),
            ),
            rx.hstack(
                rx.link(
                    rx.hstack(
                        rx.icon("file-text", size=16),
                        rx.text(row.proof_name),
                        rx.text("(", row.proof_size, ")", color=rx.color("gray", 11)),
                        align="center",
                        spacing="1",
                    ),
                    href=row.proof_url,
                    is_external=True,
                    class_name="claim-proof",
                    size="2",
                ),
                rx.spacer(),
                rx.button(
                    rx.icon("x", size=16),
                    "Reject",
                    variant="soft",
                    color_scheme="red",
                    class_name="claim-reject",
                    on_click=StaffState.open_reject(row.id),
                ),
                rx.button(
                    rx.icon("check", size=16),
                    "Approve",
                    color_scheme="green",
                    class_name="claim-approve",
                    loading=StaffState.busy_id == row.id,
                    on_click=StaffState.approve(row.id),
                ),
                width="100%",
                align="center",
                wrap="wrap",
                spacing="2",
            ),
            spacing="3",
            width="100%",
        ),
        class_name="claim-card",
        data_owner=row.owner_email,
        width="100%",
    )


def _reject_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Reject the claim of ", StaffState.reject_owner),
            rx.dialog.description(
                "The owner sees this reason and can send another document.",
                size="2",
                margin_bottom="12px",
            ),
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="reason",
                        placeholder="e.g. The document does not show the owner's name",
                        required=True,
                        max_length=1000,
                        rows="3",
                        width="100%",
                        id="reject-reason",
                        aria_label="Reason",
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Reject", color_scheme="red", type="submit", id="reject-submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=StaffState.reject,
                reset_on_submit=True,
            ),
            max_width="460px",
        ),
        open=StaffState.reject_id != "",
        on_open_change=StaffState.reject_dialog_changed,
    )


def _not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.heading("Page not found", size="5"),
            rx.link("Back to the inbox", href=routes.INBOX),
            align="center",
        ),
        padding="64px 16px",
        id="staff-not-found",
    )


def _list() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Ownership verifications", size="6"),
            rx.badge(StaffState.claims.length(), " pending", variant="soft", size="2"),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.text(
            "Open the proof, check the owner's name and the address, then approve or reject. "
            "Approval lets the owner reply to operators at once.",
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.cond(
            StaffState.claims.length() > 0,
            rx.vstack(rx.foreach(StaffState.claims, _claim_card), spacing="3", width="100%"),
            rx.center(
                rx.vstack(
                    rx.icon("inbox", size=36, color=rx.color("gray", 8)),
                    rx.text("Nothing to review.", weight="medium"),
                    align="center",
                ),
                padding="40px 16px",
                id="staff-empty",
                width="100%",
            ),
        ),
        _reject_dialog(),
        spacing="4",
        width="100%",
        max_width="760px",
        id="staff-verifications",
    )


def staff_page() -> rx.Component:
    return rx.box(
        inbox_navbar(),
        rx.cond(
            StaffState.loaded,
            rx.cond(
                StaffState.allowed, rx.center(_list(), padding=["12px", "32px 16px"]), _not_found()
            ),
            rx.center(rx.spinner(size="3"), padding="64px"),
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
