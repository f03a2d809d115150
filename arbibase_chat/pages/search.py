"""`/search`: the messages of my threads holding some words (services/search.py, issue #14).

The query is the page's `?q=` (a link can be shared, Back returns to it) or the form's; each
result opens its thread at the message (`routes.thread_at`). Results travel as plain text
pieces (`match` marks a word): nothing here is ever HTML. Every public method is an event the
browser may send with any payload (allow-listed in tests/test_event_surface.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.services import search
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view

SEARCH_INPUT_ID = "message-search-input"
STATUS_LABELS = {"archived": "Archived", "closed": "Closed"}


@dataclass
class Piece:
    text: str
    match: bool


@dataclass
class ResultRow:
    href: str
    title: str
    property: str
    sender: str
    when: str
    status: str  # "Archived" / "Closed" as I see the thread; "" when active
    pieces: list[Piece] = field(default_factory=list)


def _row(hit: search.SearchHit, zone: Any) -> ResultRow:
    at = hit.created_at.astimezone(zone)
    return ResultRow(
        href=routes.thread_at(str(hit.thread_id), hit.seq),
        title=hit.thread_title,
        property=hit.property_title,
        sender=hit.sender_name,
        when=at.strftime("%b %-d, %Y %-I:%M %p"),
        status=STATUS_LABELS.get(hit.status, ""),
        pieces=[Piece(text=p.text, match=p.match) for p in hit.snippet],
    )


@user_view
class SearchState(rx.State):
    query: str = ""
    results: list[ResultRow] = []
    error: str = ""
    searched: bool = False

    async def _user(self):
        return await (await self.get_state(SessionState))._current_user_id()

    async def _run(self, query: str) -> None:
        user_id = await self._user()
        if user_id is None:
            return
        self.query, self.error = query, ""
        if not query.strip():
            self.results, self.searched = [], False
            return
        try:
            hits = await aio.call(search.search_messages, user_id=user_id, query=query)
        except DomainError as exc:
            self.results, self.error, self.searched = [], exc.message, True
            return
        zone = (await self.get_state(SessionState))._zone()
        self.results = [_row(h, zone) for h in hits]
        self.searched = True

    @rx.event
    async def load(self):
        user_id = await self._user()
        if user_id is None:
            return rx.redirect(routes.login_then(routes.SEARCH))
        await (await self.get_state(InboxState))._load_badge(user_id)
        await self._run(self.router.url.query_parameters.get("q", ""))
        # The box shows the address's words; with none, it keeps whatever is being typed.
        return rx.set_value(SEARCH_INPUT_ID, self.query) if self.query else None

    @rx.event
    def leave(self):
        """The page unmounts: forget the search, so the next visit to /search does not show
        this one's results until its own `load` lands."""
        self.query, self.error, self.results, self.searched = "", "", [], False

    @rx.event
    async def submit(self, form_data: dict[str, Any]):
        """The form: the address follows the query (a shareable link; Back returns to it)."""
        raw = form_data.get("q", "") if isinstance(form_data, dict) else ""
        if not isinstance(raw, str) or len(raw) > search.fulltext.MAX_QUERY_CHARS * 4:
            self.error = "Search text must be 1 to 100 characters"
            return None
        await self._run(raw.strip())
        return rx.redirect(routes.search_for(raw.strip()))
