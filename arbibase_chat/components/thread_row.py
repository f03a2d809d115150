"""One inbox row: the property first (wrapped, never cut short), then who and when, the deal
stage, the preview, unread, tags; the counterparty's avatar in a colour of their own."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, cast

import reflex as rx

from arbibase_chat.components.navbar import unread_badge
from arbibase_chat.components.stage_badge import stage_badge
from arbibase_chat.components.status_badge import thread_status_badge
from arbibase_chat.models import MUTED_FOREVER, ThreadPublic
from arbibase_chat.routes import THREAD_PREFIX
from arbibase_chat.services.mutes import is_muted

ONE_LINE = {"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"}
# Long titles wrap onto a second line; only a title longer than that is clamped.
TWO_LINES = {
    "display": "-webkit-box",
    "WebkitLineClamp": "2",
    "WebkitBoxOrient": "vertical",
    "overflow": "hidden",
    "overflowWrap": "anywhere",
}
# Radix colours whose soft avatar (step 11 on step 3) reads well in both themes; gray is kept
# for the UI itself. A counterparty keeps its colour everywhere: hash of their id.
AVATAR_COLORS = (
    "tomato",
    "crimson",
    "pink",
    "plum",
    "purple",
    "violet",
    "iris",
    "indigo",
    "blue",
    "cyan",
    "teal",
    "jade",
    "green",
    "grass",
    "orange",
    "brown",
    "bronze",
    "gold",
)


def avatar_color(counterparty_id: str) -> str:
    digest = hashlib.sha256(counterparty_id.encode()).digest()
    return AVATAR_COLORS[int.from_bytes(digest[:4], "big") % len(AVATAR_COLORS)]


def initials(name: str) -> str:
    """Up to two letters: first and last word ("Dana Owner" -> "DO"), or "?" for no name."""
    words = [w for w in name.split() if w[:1].isalnum()]
    if not words:
        return "?"
    first, last = words[0][:1], words[-1][:1] if len(words) > 1 else ""
    return (first + last).upper()


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
    # When a timed mute ends (ISO; "" otherwise): assets/chat.js reloads the list then.
    muted_until: str = ""
    initials: str = ""
    avatar_color: str = "gray"

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
        muted = is_muted(thread.muted_until)
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
            muted=muted,
            muted_until=(
                thread.muted_until.isoformat()
                if muted and thread.muted_until and thread.muted_until < MUTED_FOREVER
                else ""
            ),
            initials=initials(thread.counterparty_name),
            avatar_color=avatar_color(str(thread.counterparty_id)),
        )


def thread_row(row: ThreadRow, selected_id: rx.Var[str] | str = "") -> rx.Component:
    unread = row.unread_count > 0
    selected = row.id == selected_id
    return rx.link(
        rx.box(
            rx.hstack(
                rx.avatar(
                    fallback=row.initials,
                    color_scheme=row.avatar_color,  # a Var: each row its own
                    variant="soft",
                    size="3",
                    radius="full",
                    flex_shrink="0",
                    class_name="thread-avatar",
                ),
                rx.vstack(
                    # The property leads and gets the whole width: up to two lines, wrapped,
                    # never cut to "Bayview …" by the name and time beside it.
                    rx.text(
                        row.property_title,
                        weight=rx.cond(unread, "bold", "medium"),
                        size="3",
                        style=TWO_LINES,
                        width="100%",
                        class_name="thread-property",
                        title=row.property_title,
                    ),
                    # Who and when, then the deal stage (and a status other than active):
                    # one line on desktop, wrapping under the name on a narrow phone.
                    rx.flex(
                        rx.text(
                            row.counterparty_name,
                            size="2",
                            color=rx.color("gray", 11),
                            style=ONE_LINE,
                            min_width="0",
                            class_name="thread-counterparty",
                        ),
                        rx.text("·", size="2", color=rx.color("gray", 11), aria_hidden="true"),
                        rx.moment(
                            row.last_message_at,
                            from_now=True,
                            font_size="12px",
                            color=rx.color("gray", 11),
                            white_space="nowrap",
                            flex_shrink="0",
                        ),
                        rx.cond(
                            row.muted,
                            rx.icon(
                                "bell-off",
                                size=14,
                                color=rx.color("gray", 11),
                                flex_shrink="0",
                                class_name="thread-muted",
                                aria_label="Muted",
                            ),
                        ),
                        stage_badge(row.stage, size="1"),
                        # Active is the normal case: only archived / closed are worth a chip.
                        rx.cond(
                            row.status != "active",
                            thread_status_badge(row.status, size="1"),
                        ),
                        width="100%",
                        align="center",
                        wrap="wrap",
                        column_gap="4px",
                        row_gap="4px",
                    ),
                    rx.cond(
                        row.subject != row.property_title,
                        rx.text(
                            row.subject,
                            size="2",
                            weight="medium",
                            style=ONE_LINE,
                            width="100%",
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
            class_name=rx.cond(selected, "thread-row thread-row-selected", "thread-row"),
            custom_attrs={"data-thread-id": row.id, "data-muted-until": row.muted_until},
        ),
        href=THREAD_PREFIX + row.id,
        underline="none",
        color=rx.color("gray", 12),
        display="block",
        # A keyboard user sees which row has focus: a solid ring inside the row (the list
        # clips anything drawn outside it).
        _focus_visible={"outline": f"2px solid {rx.color('accent', 9)}", "outline_offset": "-2px"},
    )
