"""One inbox row: the property first, then who and the deal stage, the preview, unread, tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import reflex as rx

from arbibase_chat.components.navbar import unread_badge
from arbibase_chat.components.stage_badge import stage_badge
from arbibase_chat.models import ThreadPublic
from arbibase_chat.routes import THREAD_PREFIX
from arbibase_chat.services.mutes import is_muted

ONE_LINE = {"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"}
STATUS_COLORS = {"active": "green", "archived": "gray", "closed": "orange"}


@dataclass
class ThreadRow:
    id: str = ""
    property_title: str = ""
    counterparty_name: str = ""
    my_role: str = ""
    subject: str = ""
    preview: str = ""
    last_message_at: str = ""
    unread_count: int = 0
    status: str = ""
    stage: str = ""
    tags: list[str] = field(default_factory=list)
    muted: bool = False  # my mute (services/mutes.py): a bell-off, a gray count

    @classmethod
    def from_thread(cls, thread: ThreadPublic) -> ThreadRow:
        preview = "No messages yet"
        if thread.last_message is not None:
            if thread.last_message.body:
                preview = thread.last_message.body.replace("\n", " ")
            elif thread.last_message.has_attachment:
                preview = "Attachment"
            else:
                preview = "Message deleted"  # a message holds text or a file until deleted
        return cls(
            id=str(thread.id),
            property_title=thread.property_title,
            counterparty_name=thread.counterparty_name,
            my_role=thread.my_role,
            subject=thread.subject or thread.property_title,
            preview=preview,
            last_message_at=thread.last_message_at.isoformat(),
            unread_count=thread.unread_count,
            status=thread.status,
            stage=thread.stage,
            tags=thread.tags,
            muted=is_muted(thread.muted_until),
        )


def _status_chip(status: rx.Var[str] | str) -> rx.Component:
    return rx.match(
        status,
        *[
            (name, rx.badge(name, color_scheme=color, variant="soft"))
            for name, color in STATUS_COLORS.items()
        ],
        rx.badge(status, variant="soft"),
    )


def thread_row(row: ThreadRow, selected_id: rx.Var[str] | str = "") -> rx.Component:
    unread = row.unread_count > 0
    selected = row.id == selected_id
    return rx.link(
        rx.box(
            rx.hstack(
                rx.avatar(fallback=row.counterparty_name[:1], size="3", radius="full"),
                rx.vstack(
                    rx.hstack(
                        rx.text(
                            row.property_title,
                            weight=rx.cond(unread, "bold", "medium"),
                            size="3",
                            style=ONE_LINE,
                            flex="1",
                            min_width="0",
                            class_name="thread-property",
                        ),
                        rx.cond(
                            row.muted,
                            rx.icon(
                                "bell-off",
                                size=14,
                                color=rx.color("gray", 10),
                                flex_shrink="0",
                                class_name="thread-muted",
                                aria_label="Muted",
                            ),
                        ),
                        rx.moment(
                            row.last_message_at,
                            from_now=True,
                            font_size="12px",
                            color=rx.color("gray", 10),
                            white_space="nowrap",
                            flex_shrink="0",
                        ),
                        width="100%",
                        align="center",
                        spacing="2",
                    ),
                    rx.hstack(
                        rx.text(
                            row.counterparty_name,
                            size="2",
                            color=rx.color("gray", 11),
                            style=ONE_LINE,
                            min_width="0",
                        ),
                        stage_badge(row.stage, size="1"),
                        rx.cond(row.status != "active", _status_chip(row.status)),
                        width="100%",
                        align="center",
                        spacing="2",
                    ),
                    rx.cond(
                        row.subject != row.property_title,
                        rx.text(
                            row.subject,
                            size="2",
                            weight="medium",
                            style=ONE_LINE,
                            class_name="thread-subject",
                        ),
                    ),
                    rx.hstack(
                        rx.text(
                            row.preview,
                            size="2",
                            color=rx.color("gray", 11),
                            weight=rx.cond(unread, "medium", "regular"),
                            style=ONE_LINE,
                            flex="1",
                            min_width="0",
                        ),
                        # A muted thread's count is gray: it is left out of the navbar total.
                        rx.cond(
                            row.muted,
                            rx.cond(
                                row.unread_count > 0,
                                rx.badge(
                                    row.unread_count,
                                    color_scheme="gray",
                                    variant="soft",
                                    radius="full",
                                    class_name="thread-unread",
                                ),
                            ),
                            unread_badge(row.unread_count, class_name="thread-unread"),
                        ),
                        width="100%",
                        align="center",
                    ),
                    rx.cond(
                        cast(Any, row.tags).length() > 0,  # a Var in the view
                        rx.hstack(
                            rx.foreach(
                                row.tags, lambda tag: rx.badge(tag, variant="outline", size="1")
                            ),
                            spacing="1",
                            wrap="wrap",
                        ),
                    ),
                    spacing="1",
                    width="100%",
                    min_width="0",
                ),
                spacing="3",
                align="start",
                width="100%",
            ),
            padding="12px 16px",
            border_bottom=f"1px solid {rx.color('gray', 4)}",
            background=rx.cond(
                selected,
                rx.color("accent", 4),
                rx.cond(unread, rx.color("accent", 2), "transparent"),
            ),
            _hover={"background": rx.color("gray", 3)},
            width="100%",
            class_name="thread-row",
            custom_attrs={"data-thread-id": row.id},
        ),
        href=THREAD_PREFIX + row.id,
        underline="none",
        color=rx.color("gray", 12),
        display="block",
    )
