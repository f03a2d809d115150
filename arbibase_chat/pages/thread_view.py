"""The thread page's view: header, messages, composer (state in pages/thread.py)."""

from __future__ import annotations

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.components.message_bubble import message_bubble
from arbibase_chat.components.two_pane import two_pane
from arbibase_chat.config import get_settings
from arbibase_chat.pages.inbox_view import inbox_list, inbox_navbar
from arbibase_chat.pages.thread import UPLOAD_ID, ChatState
from arbibase_chat.pages.verify_view import needs_verification, verify_banner

STATUS_ACTIONS = [
    ("active", "Reopen", "rotate-ccw"),
    ("archived", "Archive", "archive"),
    ("closed", "Close", "lock"),
]


def _actions_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis-vertical", size=18),
                variant="ghost",
                aria_label="Thread actions",
                id="thread-actions",
            )
        ),
        rx.menu.content(
            *[
                rx.cond(
                    ChatState.status != status,
                    rx.menu.item(
                        rx.hstack(rx.icon(icon, size=14), rx.text(label), align="center"),
                        on_click=ChatState.set_status(status),
                    ),
                )
                for status, label, icon in STATUS_ACTIONS
            ],
        ),
    )


def _tags_bar() -> rx.Component:
    return rx.hstack(
        rx.foreach(
            ChatState.tags,
            lambda tag: rx.badge(
                tag,
                rx.icon(
                    "x",
                    size=12,
                    cursor="pointer",
                    on_click=ChatState.remove_tag(tag),
                    aria_label="Remove tag",
                ),
                variant="outline",
                class_name="thread-tag",
            ),
        ),
        rx.popover.root(
            rx.popover.trigger(
                rx.button(rx.icon("tag", size=12), "Tag", size="1", variant="ghost", id="add-tag")
            ),
            rx.popover.content(
                rx.form(
                    rx.hstack(
                        rx.input(
                            name="tag",
                            placeholder="e.g. Offer Sent",
                            max_length=40,
                            id="tag-input",
                            auto_focus=True,
                        ),
                        rx.popover.close(rx.button("Add", type="submit", size="2")),
                    ),
                    on_submit=ChatState.add_tag,
                    reset_on_submit=True,
                ),
            ),
        ),
        spacing="1",
        wrap="wrap",
        align="center",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.icon_button(
                rx.icon("arrow-left", size=18), variant="ghost", aria_label="Back to inbox"
            ),
            href=routes.INBOX,
            display=["inline-flex", "inline-flex", "none"],
        ),
        rx.vstack(
            rx.hstack(
                rx.text(
                    ChatState.counterparty_name, weight="bold", size="3", id="chat-counterparty"
                ),
                rx.text("·", color=rx.color("gray", 9)),
                rx.text(ChatState.property_title, size="2", color=rx.color("gray", 11)),
                rx.badge(ChatState.status, variant="soft", id="chat-status"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(ChatState.subject, size="2", color=rx.color("gray", 11)),
            _tags_bar(),
            spacing="1",
            flex="1",
            min_width="0",
        ),
        _actions_menu(),
        padding="10px 16px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        align="start",
        width="100%",
    )


def _messages() -> rx.Component:
    return rx.box(
        rx.cond(
            ChatState.has_older,
            rx.center(
                rx.button(
                    "Load older messages",
                    id="load-older",
                    variant="ghost",
                    size="1",
                    on_click=ChatState.load_older,
                ),
                padding="8px",
            ),
        ),
        rx.foreach(
            ChatState.items, lambda view: message_bubble(view, ChatState.seen_id, ChatState.retry)
        ),
        rx.cond(
            ChatState.typing_name != "",
            rx.text(
                ChatState.typing_name,
                " is typing…",
                size="1",
                color=rx.color("gray", 10),
                id="typing-indicator",
                padding="4px 0",
            ),
        ),
        id="message-list",
        flex="1",
        overflow_y="auto",
        padding="12px 16px",
        width="100%",
    )


def _composer() -> rx.Component:
    # An owner not verified yet reads but cannot reply: say so instead of a composer whose
    # every send would fail (pages/verify_view.py; services/policy.py decides).
    return rx.cond(needs_verification(), verify_banner(), _reply_box())


def _reply_box() -> rx.Component:
    return rx.cond(
        ChatState.is_closed,
        rx.center(
            rx.text(
                "This thread is closed. Reopen it from the menu to reply.",
                size="2",
                color=rx.color("gray", 10),
            ),
            padding="16px",
            border_top=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.form(
            rx.cond(
                ChatState.uploading,
                rx.hstack(
                    rx.text("Uploading…", size="1"),
                    rx.progress(value=ChatState.upload_percent, max=100, flex="1"),
                    width="100%",
                    align="center",
                    id="upload-progress",
                    padding_bottom="6px",
                ),
            ),
            rx.hstack(
                rx.upload.root(
                    rx.icon_button(
                        rx.icon("paperclip", size=18),
                        variant="ghost",
                        size="3",
                        type="button",
                        aria_label="Attach a file",
                        id="attach-button",
                    ),
                    id=UPLOAD_ID,
                    multiple=False,
                    max_size=get_settings().max_attachment_bytes,
                    no_drag=True,
                    on_drop=ChatState.upload(
                        rx.upload_files(
                            upload_id=UPLOAD_ID, on_upload_progress=ChatState.upload_progress
                        )
                    ),
                    on_drop_rejected=rx.toast.error("That file is larger than the limit."),
                    border="none",
                    padding="0",
                ),
                rx.text_area(
                    name="body",
                    id="composer",
                    placeholder="Write a message…  (Enter sends, Shift+Enter adds a line)",
                    max_length=10_000,
                    rows="1",
                    resize="vertical",
                    flex="1",
                    on_change=ChatState.composer_changed.debounce(300),
                    aria_label="Message",
                ),
                rx.icon_button(
                    rx.icon("send", size=18),
                    type="submit",
                    id="send-button",
                    aria_label="Send",
                    size="3",
                ),
                align="end",
                width="100%",
            ),
            on_submit=ChatState.send,
            # Cleared in the browser at submit time: a server-side clear could wipe the next
            # message a fast typist already started.
            reset_on_submit=True,
            padding="10px 16px",
            border_top=f"1px solid {rx.color('gray', 5)}",
            width="100%",
        ),
    )


def _hidden_triggers() -> rx.Component:
    # Clicked by assets/chat.js when the tab becomes visible / hidden.
    return rx.fragment(
        rx.el.button(id="tab-visible", on_click=ChatState.tab_shown, hidden=True, type="button"),
        rx.el.button(id="tab-hidden", on_click=ChatState.tab_hidden, hidden=True, type="button"),
    )


def chat_panel() -> rx.Component:
    return rx.cond(
        ChatState.not_found,
        rx.center(
            rx.vstack(
                rx.heading("Conversation not found", size="4"),
                rx.link("Back to the inbox", href=routes.INBOX),
                align="center",
            ),
            height="100%",
            id="chat-not-found",
        ),
        rx.flex(
            _header(),
            rx.box(
                _messages(),
                rx.button(
                    rx.icon("arrow-down", size=14),
                    "New messages",
                    id="new-messages-pill",
                    size="1",
                    radius="full",
                    # assets/chat.js sets data-show="1" when messages arrive below the fold.
                    style={"&:not([data-show='1'])": {"display": "none"}},
                    position="absolute",
                    bottom="12px",
                    left="50%",
                    transform="translateX(-50%)",
                    type="button",
                ),
                position="relative",
                flex="1",
                min_height="0",
                display="flex",
                width="100%",
            ),
            _composer(),
            _hidden_triggers(),
            direction="column",
            height="100%",
            width="100%",
        ),
    )


def thread_page() -> rx.Component:
    return two_pane(inbox_navbar(), inbox_list(), chat_panel(), list_on_phone=False)
