"""The inbox's view: the thread list with its filters (state in pages/inbox.py)."""

from __future__ import annotations

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.components.navbar import navbar
from arbibase_chat.components.thread_row import thread_row
from arbibase_chat.components.two_pane import two_pane
from arbibase_chat.pages.inbox import STATUS_FILTERS, InboxState
from arbibase_chat.services.deals import STAGE_LABELS
from arbibase_chat.session import SessionState


def inbox_navbar() -> rx.Component:
    return navbar(InboxState.unread_total, InboxState.alert)


def _first_steps() -> rx.Component:
    """What a new user does next: operators find a property, owners list (and verify) one."""
    return rx.cond(
        SessionState.role == "operator",
        rx.vstack(
            rx.text(
                "Find a home you would like to lease and message its owner.",
                size="2",
                color=rx.color("gray", 11),
                text_align="center",
            ),
            rx.link(
                rx.button(rx.icon("building-2", size=16), "Browse properties", size="3"),
                href=routes.PROPERTIES,
                id="empty-browse-properties",
            ),
            align="center",
            spacing="3",
        ),
        rx.vstack(
            rx.text(
                "List your property and operators will message you about it here.",
                size="2",
                color=rx.color("gray", 11),
                text_align="center",
            ),
            rx.flex(
                rx.link(
                    rx.button(rx.icon("plus", size=16), "List a property", size="3"),
                    href=routes.PROPERTIES,
                    id="empty-list-property",
                ),
                rx.cond(
                    ~SessionState.verified,
                    rx.link(
                        rx.button(
                            rx.icon("badge-check", size=16),
                            "Verify ownership",
                            size="3",
                            variant="soft",
                        ),
                        href=routes.VERIFY,
                        id="empty-verify",
                    ),
                ),
                gap="8px",
                wrap="wrap",
                justify="center",
            ),
            rx.cond(
                ~SessionState.verified,
                rx.text(
                    "You can read operators' messages now; you can reply once we have "
                    "verified that you own the property.",
                    size="1",
                    color=rx.color("gray", 11),
                    text_align="center",
                    max_width="320px",
                ),
            ),
            align="center",
            spacing="3",
        ),
    )


def _empty_state() -> rx.Component:
    # Filters or a search hid everything: say so; a truly empty inbox shows the first steps.
    narrowed = (
        (InboxState.search != "")
        | (InboxState.status_filter != "active")
        | (InboxState.role_filter != "all")
        | (InboxState.tag_filter != "")
        | (InboxState.stage_filter != "")
    )
    return rx.center(
        rx.vstack(
            rx.icon("inbox", size=40, color=rx.color("gray", 8)),
            rx.cond(
                InboxState.search != "",
                rx.text("No conversation matches your search.", weight="medium"),
                rx.cond(
                    narrowed,
                    rx.text("No conversation matches these filters.", weight="medium"),
                    rx.text("No conversations yet.", weight="medium"),
                ),
            ),
            rx.cond(narrowed, rx.fragment(), _first_steps()),
            align="center",
            spacing="2",
        ),
        padding="48px 16px",
        id="inbox-empty",
    )


def _filters_bar() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    name="search",
                    id="inbox-search",
                    # Short enough for a phone; it searches subjects, properties, people
                    # and messages.
                    placeholder="Search conversations",
                    aria_label="Search conversations",
                    default_value=InboxState.search,
                    width="100%",
                    max_length=100,
                ),
                rx.cond(
                    InboxState.search != "",
                    rx.icon_button(
                        rx.icon("x", size=16),
                        variant="ghost",
                        type="button",
                        on_click=InboxState.clear_search,
                        aria_label="Clear search",
                    ),
                ),
                # Message search (issue #14): the messages themselves, ranked (pages/search.py).
                rx.link(
                    rx.icon("text-search", size=18),
                    href=routes.SEARCH,
                    id="open-message-search",
                    aria_label="Search messages",
                    title="Search messages",
                    display="flex",
                ),
                width="100%",
                align="center",
            ),
            on_submit=InboxState.run_search,
            width="100%",
        ),
        # The inbox matches conversations; the words may be deep in a thread's history.
        rx.cond(
            InboxState.search != "",
            rx.link(
                rx.hstack(
                    rx.icon("text-search", size=14),
                    rx.text("Search all messages for “", InboxState.search, "”", trim="both"),
                    align="center",
                    spacing="1",
                ),
                href=InboxState.message_search_href,
                id="search-all-messages",
                size="2",
            ),
        ),
        rx.hstack(
            rx.segmented_control.root(
                *[rx.segmented_control.item(s.title(), value=s) for s in STATUS_FILTERS],
                value=InboxState.status_filter,
                on_change=InboxState.set_status_filter,
                size="1",
                id="status-filter",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Role"),
                rx.select.content(
                    rx.select.item("All roles", value="all"),
                    rx.select.item("As operator", value="operator"),
                    rx.select.item("As owner", value="owner"),
                ),
                value=InboxState.role_filter,
                on_change=InboxState.set_role_filter,
                size="1",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Deal stage", id="stage-filter"),
                rx.select.content(
                    rx.select.item("Any stage", value="__all__"),
                    *[rx.select.item(label, value=key) for key, label in STAGE_LABELS.items()],
                ),
                value=rx.cond(InboxState.stage_filter == "", "__all__", InboxState.stage_filter),
                on_change=InboxState.set_stage_filter,
                size="1",
            ),
            rx.cond(
                InboxState.known_tags.length() > 0,
                rx.select.root(
                    rx.select.trigger(aria_label="Tag"),
                    rx.select.content(
                        rx.select.item("All tags", value="__all__"),
                        rx.foreach(
                            InboxState.known_tags, lambda tag: rx.select.item(tag, value=tag)
                        ),
                    ),
                    value=rx.cond(InboxState.tag_filter == "", "__all__", InboxState.tag_filter),
                    on_change=InboxState.set_tag_filter,
                    size="1",
                ),
            ),
            wrap="wrap",
            spacing="2",
            align="center",
        ),
        padding="12px 16px",
        spacing="2",
        width="100%",
    )


def inbox_list(*, show_selected: bool = True) -> rx.Component:
    """The thread list with its filters (the whole page on phones, the left pane on desktop).

    Only the thread page marks a row as the open one: on /inbox no thread is open, whatever
    thread was open last."""
    selected = InboxState.selected_id if show_selected else ""
    return rx.vstack(
        rx.hstack(
            rx.heading("Inbox", size="5"),
            padding="16px 16px 0 16px",
            width="100%",
        ),
        _filters_bar(),
        rx.cond(
            InboxState.loaded,
            rx.cond(
                InboxState.has_rows,
                rx.box(
                    rx.foreach(InboxState.rows, lambda row: thread_row(row, selected)),
                    id="thread-list",
                    width="100%",
                ),
                _empty_state(),
            ),
            rx.center(rx.spinner(size="3"), padding="48px", width="100%"),
        ),
        rx.cond(
            InboxState.has_more,
            rx.center(
                rx.button("Load older threads", variant="soft", on_click=InboxState.load_more),
                padding="16px",
                width="100%",
            ),
        ),
        # Clicked by assets/chat.js when a row's timed mute ends: the rows and the navbar's
        # total read again (the bell goes, the count counts again) without a reload.
        rx.el.button(id="mute-ended-inbox", on_click=InboxState.load, hidden=True, type="button"),
        spacing="0",
        width="100%",
    )


def _no_thread_selected() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("messages-square", size=48, color=rx.color("gray", 7)),
            rx.text("Select a conversation", color=rx.color("gray", 11)),
            align="center",
        ),
        height="100%",
    )


def inbox_page() -> rx.Component:
    return two_pane(
        inbox_navbar(), inbox_list(show_selected=False), _no_thread_selected(), list_on_phone=True
    )
