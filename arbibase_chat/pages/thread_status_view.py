"""The thread header's status controls (pages/thread_status.py): the actions menu's Archive /
Unarchive / Close… / Reopen… items, and the confirmation of a close or reopen."""

from __future__ import annotations

import reflex as rx

from arbibase_chat.components.solid import solid_either
from arbibase_chat.pages.thread import ChatState


def _item(label: str, icon: str, status: str, item_id: str) -> rx.Component:
    return rx.menu.item(
        rx.hstack(rx.icon(icon, size=14), rx.text(label), align="center"),
        on_click=ChatState.set_status(status),
        id=item_id,
    )


def status_menu_items() -> list[rx.Component]:
    """Archive (mine) while the thread is active for me; Unarchive once I archived it; Close…
    unless closed; Reopen… once closed (the last two ask first)."""
    return [
        rx.cond(
            ChatState.status == "active", _item("Archive", "archive", "archived", "status-archive")
        ),
        rx.cond(
            ChatState.status == "archived",
            _item("Unarchive", "archive-restore", "active", "status-unarchive"),
        ),
        rx.cond(
            ChatState.status == "closed",
            _item("Reopen…", "rotate-ccw", "active", "status-reopen"),
            _item("Close…", "lock", "closed", "status-close"),
        ),
    ]


def status_confirm_dialog() -> rx.Component:
    closing = ChatState.confirm_status_to == "closed"
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(
                rx.cond(closing, "Close this conversation?", "Reopen this conversation?")
            ),
            rx.alert_dialog.description(
                rx.cond(
                    closing,
                    ChatState.counterparty_name
                    + " will no longer be able to send messages until one of you reopens it.",
                    "You can both send messages again. "
                    + ChatState.counterparty_name
                    + " sees that you reopened it.",
                ),
                size="2",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray"),
                    on_click=ChatState.cancel_status,
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.cond(closing, "Close conversation", "Reopen conversation"),
                        **solid_either(closing, "red", "green"),
                        id="confirm-status",
                    ),
                    on_click=ChatState.confirm_status,
                ),
                spacing="3",
                justify="end",
                padding_top="12px",
            ),
        ),
        open=ChatState.confirm_status_to != "",
    )
