"""The /search page's view: a search box and the messages found, each a link into its thread
at that message (state in pages/search.py). Snippets are text pieces, the matching words in
<mark>: never HTML from the data."""

from __future__ import annotations

import reflex as rx

from arbibase_chat.pages.inbox_view import inbox_navbar
from arbibase_chat.pages.search import SEARCH_INPUT_ID, Piece, ResultRow, SearchState


def _piece(piece: rx.Var[Piece]) -> rx.Component:
    return rx.cond(
        piece.match,
        rx.el.mark(
            piece.text,
            class_name="search-match",
            background=rx.color("amber", 5),
            color=rx.color("gray", 12),
            border_radius="3px",
            padding="0 1px",
        ),
        rx.text.span(piece.text),
    )


def _result(hit: rx.Var[ResultRow]) -> rx.Component:
    return rx.link(
        rx.vstack(
            rx.hstack(
                rx.text(
                    hit.title,
                    weight="medium",
                    size="2",
                    flex="1",
                    min_width="0",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    white_space="nowrap",
                ),
                rx.cond(
                    hit.status != "",
                    rx.badge(hit.status, color_scheme="gray", variant="soft", size="1"),
                ),
                rx.text(hit.when, size="1", color=rx.color("gray", 11), flex_shrink="0"),
                width="100%",
                align="center",
                spacing="2",
            ),
            rx.text(
                rx.text.strong(hit.sender, ": "),
                rx.foreach(hit.pieces, _piece),
                size="2",
                color=rx.color("gray", 12),
                overflow_wrap="anywhere",
            ),
            rx.text(hit.property, size="1", color=rx.color("gray", 11)),
            spacing="1",
            width="100%",
        ),
        href=hit.href,
        underline="none",
        class_name="search-result",
        display="block",
        padding="10px 12px",
        border_radius="8px",
        color="inherit",
        _hover={"background": rx.color("gray", 3)},
    )


def search_content() -> rx.Component:
    return rx.vstack(
        rx.heading("Search messages", size="5", as_="h1"),
        rx.form(
            rx.hstack(
                rx.input(
                    name="q",
                    # Never remounted by the state (a key would wipe what is being typed
                    # when a load lands); `load` writes an address's `?q=` into it.
                    placeholder="Words in your messages",
                    aria_label="Search messages",
                    id=SEARCH_INPUT_ID,
                    max_length=100,
                    flex="1",
                    size="3",
                ),
                rx.button(rx.icon("search", size=16), "Search", type="submit", size="3"),
                width="100%",
            ),
            on_submit=SearchState.submit,
            width="100%",
        ),
        rx.cond(
            SearchState.error != "",
            rx.callout(
                SearchState.error,
                icon="triangle-alert",
                color_scheme="red",
                size="1",
                id="search-error",
            ),
        ),
        rx.cond(
            SearchState.searched & (SearchState.results.length() == 0) & (SearchState.error == ""),
            rx.text("No messages found.", color=rx.color("gray", 11), id="search-empty"),
        ),
        rx.vstack(
            rx.foreach(SearchState.results, _result),
            spacing="1",
            width="100%",
            id="search-results",
        ),
        spacing="4",
        width="100%",
        on_unmount=SearchState.leave,
    )


def search_page() -> rx.Component:
    return rx.box(
        inbox_navbar(),
        rx.center(
            rx.card(
                search_content(),
                width="100%",
                max_width="720px",
                size=rx.breakpoints(initial="2", sm="3"),
            ),
            padding=["12px", "32px 16px"],
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
