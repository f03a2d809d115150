"""A chat bubble: mine on the right, theirs on the left; text, links, attachment, status;
"edited", the "Message deleted" tombstone, and my own text's Edit / Delete menu."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any, cast

import reflex as rx

from arbibase_chat.components.offer_card import OfferCardView, OfferEvents, offer_card
from arbibase_chat.models import MessagePublic
from arbibase_chat.services.message_edits import may_change
from arbibase_chat.textlinks import Segment, segments


@dataclass
class AttachmentView:
    url: str = ""
    name: str = ""
    size: str = ""  # "1.2 MB"
    thumbnail_url: str = ""  # an image's small version ("" for other files)


@dataclass
class MessageView:
    id: str = ""
    seq: int = 0
    mine: bool = False
    sender_name: str = ""
    kind: str = "text"
    segments: list[Segment] = field(default_factory=list)
    created_at: str = ""  # ISO, shown in the browser's local time
    day_label: str = ""  # set on the first message of a day
    status: str = "sent"  # sent | pending | failed
    client_msg_id: str = ""
    # What most messages lack is None, not a row of empty fields: every update carries the
    # newest views, and the empty fields were half of a text message's JSON.
    attachment: AttachmentView | None = None
    # An offer card (kind "offer", pages/thread_deal.py fills it from the offers table; a
    # message whose offer row does not point back at it stays a plain bubble).
    offer: OfferCardView | None = None
    # Edits (services/message_edits.py): "edited" label; the tombstone; my own text message
    # still inside the edit window when the view was made (the menu; the service decides).
    edited: bool = False
    deleted: bool = False
    editable: bool = False
    # The last of a run of one sender's messages a few minutes apart (set by
    # `group_runs`): only it carries the name and the time, so a run reads as one block.
    group_end: bool = True

    @classmethod
    def from_message(cls, message: MessagePublic, *, me: str, names: dict[str, str]) -> MessageView:
        sender = str(message.sender_id)
        attachment = message.attachment
        return cls(
            id=str(message.id),
            seq=message.seq,
            mine=sender == me,
            sender_name=names.get(sender, ""),
            kind=message.kind,
            segments=segments(message.body or ""),
            created_at=message.created_at.isoformat(),
            client_msg_id=message.client_msg_id or "",
            attachment=(
                None
                if message.attachment_url is None
                else AttachmentView(
                    url=message.attachment_url,
                    name=attachment.filename if attachment else "Attachment",
                    size=human_size(attachment.size_bytes) if attachment else "",
                    thumbnail_url=(attachment.thumbnail_url or "") if attachment else "",
                )
            ),
            edited=message.edited_at is not None,
            deleted=message.deleted_at is not None,
            editable=may_change(message, me=me),
        )


def human_size(size: object) -> str:
    if not isinstance(size, int) or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def label_days(views: list[MessageView], zone: tzinfo) -> None:
    """Mark the first message of each local day with a label ("Today", "Mon, Nov 23").

    A changed view is replaced in `views`, never changed in place: the lists a tab was sent
    share their views with the next window (ChatState._show compares them)."""
    today = datetime.now(zone).date()
    previous = None
    for i, view in enumerate(views):
        day = _local_day(view.created_at, zone)
        label = ""
        if day != previous:
            if day == today:
                label = "Today"
            elif (today - day).days == 1:
                label = "Yesterday"
            else:
                label = day.strftime("%a, %b %-d, %Y")
        if view.day_label != label:
            views[i] = replace(view, day_label=label)
        previous = day


# Every update relabels the whole window (up to 200 views): parsing each time was 5 % of
# the CPU of a message under load. A view's time never changes, so its parse is kept.
@lru_cache(maxsize=8192)
def _at(created_at: str) -> datetime:
    return datetime.fromisoformat(created_at)


@lru_cache(maxsize=8192)
def _local_day(created_at: str, zone: tzinfo) -> date:
    return _at(created_at).astimezone(zone).date()


#: Consecutive messages of one sender this close together form one group.
GROUP_SECONDS = 5 * 60


def group_runs(views: list[MessageView]) -> None:
    """Mark the last message of each run of one sender's plain messages (no day between,
    each within GROUP_SECONDS of the previous): only that one shows the name and time. A
    changed view is replaced in `views`, as in `label_days`."""
    if not views:
        return  # a thread with no message yet (its first is being written)
    for i, (view, after) in enumerate(zip(views, [*views[1:], None], strict=True)):
        end = True
        if after is not None and _groupable(view) and _groupable(after):
            gap = _at(after.created_at) - _at(view.created_at)
            end = not (
                after.mine == view.mine
                and after.sender_name == view.sender_name
                and after.day_label == ""
                and view.status == after.status
                and 0 <= gap.total_seconds() <= GROUP_SECONDS
            )
        if view.group_end != end:
            views[i] = replace(view, group_end=end)


def _groupable(view: MessageView) -> bool:
    return view.kind == "text" and view.offer is None and not view.deleted


# Colours on my own (accent) bubble and on theirs (gray 3): each pair is at least 4.5:1 in
# light and dark (tests/e2e/test_thread_ux.py measures them in the browser).
MINE_TEXT = "white"
THEIRS_TEXT = rx.color("gray", 12)


def _text(segment: Segment, mine: Any) -> rx.Component:
    return rx.cond(
        segment.href != "",
        rx.link(
            segment.text,
            href=segment.href,
            is_external=True,
            rel="noopener noreferrer nofollow",
            underline="always",
            # The accent link colour is ~2:1 on my accent bubble: the bubble's own text colour.
            color=rx.cond(mine, MINE_TEXT, rx.color("accent", 12)),
            class_name="message-link",
        ),
        rx.text.span(segment.text),
    )


def _attachment(view: MessageView) -> rx.Component:
    file = cast("AttachmentView", view.attachment)  # read only where it is set (the cond)
    return rx.cond(
        view.attachment,
        rx.cond(
            file.thumbnail_url != "",
            rx.link(
                # A fixed box (cropped to fill, as chat apps do): the list's height is known
                # before the image loads, so opening a thread lands at the bottom.
                rx.image(
                    src=file.thumbnail_url,
                    alt=file.name,
                    width="240px",
                    height="180px",
                    max_width="100%",
                    object_fit="cover",
                    border_radius="8px",
                    background=rx.color("gray", 4),
                    display="block",
                    class_name="attachment-thumb",
                ),
                href=file.url,
                is_external=True,
                rel="noopener noreferrer nofollow",
            ),
            rx.link(
                rx.hstack(
                    rx.icon("paperclip", size=14, flex_shrink="0"),
                    rx.text(
                        file.name,
                        size="2",
                        weight="medium",
                        class_name="attachment-name",
                        color=rx.color("gray", 12),
                        overflow_wrap="anywhere",  # long names break only where they must
                    ),
                    rx.text(
                        file.size,
                        size="1",
                        class_name="attachment-size",
                        color=rx.color("gray", 11),
                        white_space="nowrap",
                    ),
                    align="center",
                    spacing="2",
                ),
                href=file.url,
                is_external=True,
                rel="noopener noreferrer nofollow",
                class_name="attachment-chip",
                # Its own solid surface and text colours, the same in either bubble: the
                # inherited white text on gray was ~2:1.
                display="inline-flex",
                padding="6px 10px",
                border_radius="8px",
                background=rx.color("gray", 2),
                color=rx.color("gray", 12),
                border=f"1px solid {rx.color('gray', 6)}",
                underline="none",
                max_width="100%",
            ),
        ),
    )


def _system(view: MessageView) -> rx.Component:
    """Something that happened in the negotiation (an offer step, the deal's stage)."""
    return rx.center(
        rx.text(
            rx.foreach(view.segments, lambda s: rx.text.span(s.text)),
            " · ",
            rx.moment(view.created_at, format="LT"),
            size="1",
            color=rx.color("gray", 11),
            text_align="center",
            class_name="system-message",
        ),
        padding="6px 12px",
        margin_y="4px",
        border_radius="12px",
        background=rx.color("gray", 2),
        width="100%",
    )


def _has_file(view: MessageView) -> Any:
    return cast("rx.Var", view.attachment).bool()


def _no_text(view: MessageView) -> Any:
    # `view` is a Var here (the bubble renders for each item of a foreach).
    return cast("rx.vars.ArrayVar", view.segments).length() == 0


@dataclass
class EditEvents:
    """The page's handlers my own bubble's menu calls, each with the message id."""

    edit: Any
    delete: Any


def _menu(view: MessageView, events: EditEvents) -> rx.Component:
    return rx.dropdown_menu.root(
        rx.dropdown_menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis", size=14),
                size="1",
                variant="ghost",
                color_scheme="gray",
                aria_label="Message actions",
                class_name="message-menu",
            )
        ),
        rx.dropdown_menu.content(
            rx.dropdown_menu.item(
                rx.icon("pencil", size=14),
                "Edit",
                on_click=events.edit(view.id),
                class_name="edit-message",
            ),
            rx.dropdown_menu.item(
                rx.icon("trash-2", size=14),
                "Delete",
                color_scheme="red",
                on_click=events.delete(view.id),
                class_name="delete-message",
            ),
            size="1",
        ),
    )


def _tombstone(view: MessageView) -> rx.Component:
    """What both parties see of a deleted message."""
    return rx.box(
        rx.hstack(
            rx.icon("ban", size=14),
            rx.text("Message deleted", size="2", font_style="italic"),
            spacing="1",
            align="center",
        ),
        padding="6px 12px",
        border_radius="16px",
        border=f"1px dashed {rx.color('gray', 7)}",
        color=rx.color("gray", 11),
        class_name="message-deleted",
    )


def message_bubble(
    view: MessageView,
    seen_id: rx.Var[str],
    on_retry: rx.EventHandler,
    offer_events: OfferEvents | None = None,
    edit_events: EditEvents | None = None,
) -> rx.Component:
    plain = rx.box(
        _attachment(view),
        rx.text(
            rx.foreach(view.segments, lambda segment: _text(segment, view.mine)),
            size="2",
            white_space="pre-wrap",
            word_break="break-word",
            class_name="message-body",
        ),
        # A file alone (a photo, a chip) sits in a thin frame; text keeps its margins.
        padding=rx.cond(_has_file(view) & _no_text(view), "4px", "8px 12px"),
        border_radius="16px",
        max_width=["85%", "75%", "70%"],
        background=rx.cond(view.mine, rx.color("accent", 9), rx.color("gray", 3)),
        color=rx.cond(view.mine, MINE_TEXT, THEIRS_TEXT),
        opacity=rx.cond(view.status == "pending", "0.6", "1"),
        border=rx.cond(view.kind == "offer", f"2px solid {rx.color('amber', 8)}", "none"),
    )
    bubble = (
        rx.cond(view.offer, offer_card(view.offer, offer_events, _attachment(view)), plain)
        if offer_events is not None
        else plain
    )
    bubble = rx.cond(view.deleted, _tombstone(view), bubble)
    own_row = view.group_end | view.edited | (view.status != "sent")
    if edit_events is not None:
        own_row = own_row | view.editable
    meta = rx.hstack(
        rx.cond(
            ~view.mine & view.group_end,
            rx.text(view.sender_name, size="1", weight="medium", color=rx.color("gray", 11)),
        ),
        *(
            [rx.cond(view.editable & (view.status == "sent"), _menu(view, edit_events))]
            if edit_events is not None
            else []
        ),
        rx.cond(
            view.edited & ~view.deleted,
            rx.text("edited", size="1", color=rx.color("gray", 11), class_name="edited-label"),
        ),
        rx.cond(
            view.group_end,
            rx.moment(
                view.created_at,
                format="LT",
                font_size="12px",
                color=rx.color("gray", 11),
                class_name="message-time",
            ),
        ),
        rx.match(
            view.status,
            ("pending", rx.text("Sending…", size="1", color=rx.color("gray", 11))),
            (
                "failed",
                rx.hstack(
                    rx.text("Not sent", size="1", color=rx.color("red", 11)),
                    rx.button(
                        "Retry",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=on_retry(view.client_msg_id),
                        class_name="retry-send",
                    ),
                    spacing="1",
                    align="center",
                ),
            ),
            rx.fragment(),
        ),
        spacing="2",
        align="center",
    )
    return rx.box(
        rx.cond(
            view.day_label != "",
            rx.center(
                rx.badge(view.day_label, variant="soft", color_scheme="gray", radius="full"),
                padding_y="8px",
                class_name="day-separator",
            ),
        ),
        rx.cond(
            view.kind == "system",
            _system(view),
            rx.vstack(
                bubble,
                # Inside a group only what belongs to this one message (its menu, "edited",
                # its status) keeps a row; the name and time wait for the group's end.
                rx.cond(own_row, meta),
                rx.cond(
                    view.id == seen_id,
                    rx.text("Seen", size="1", color=rx.color("gray", 11), id="seen-receipt"),
                ),
                align=rx.cond(view.mine, "end", "start"),
                spacing="1",
                width="100%",
            ),
        ),
        class_name=rx.cond(view.mine, "message mine", "message theirs"),
        custom_attrs={
            "data-seq": view.seq,
            "data-status": view.status,
            # My sends' ids: assets/chat.js keeps a send's text until its bubble shows.
            "data-cmid": rx.cond(view.mine, view.client_msg_id, ""),
            "data-group-end": rx.cond(view.group_end, "1", "0"),
        },
        width="100%",
        # A group's bubbles sit close; a new sender or a pause opens a gap.
        padding_top="2px",
        padding_bottom=rx.cond(view.group_end, "6px", "0"),
    )
