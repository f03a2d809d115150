"""AI reply suggestions in the open thread: the bodies of ChatState's `suggest_replies`.

The operator asks with a button ("Suggest replies") rather than on every owner message: each
request may cost a provider call and a rate-limit token, most messages need no help, and a
click is one clear moment for chips to appear (nothing shifts under a reader's eyes). Up to
three chips show above the composer; a click puts the text in the composer (in the browser:
`rx.set_value`), and nothing is ever sent for the operator. Owners never see the control; an
operator whose plan lacks `ai_suggestions` sees it disabled with the one line that says
which plan has it. The service (services/ai_replies.py) decides all of it again on every
request; these flags only shape the view.

`suggest_replies` runs as a background task: the provider may take up to
AI_TIMEOUT_SECONDS, and the tab's state must not be locked meanwhile (live messages keep
arriving).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arbibase_chat import aio
from arbibase_chat.services import ai_replies
from arbibase_chat.services.errors import DomainError
from arbibase_chat.services.threads import ThreadFeatures

if TYPE_CHECKING:
    from arbibase_chat.pages.thread import ChatState

FROM_TEMPLATES = "Suggested from templates"
FROM_AI = "Suggested by AI"
NONE_FOUND = "No suggestions this time."


@dataclass(frozen=True)
class Fetched:
    chips: list[dict[str, str]]
    source: str
    notice: str


def source_label(provider: str) -> str:
    return FROM_TEMPLATES if provider == ai_replies.TEMPLATES else FROM_AI


def reset(chat: ChatState, *, is_operator: bool, revisit: bool) -> None:
    """On load: only the thread's operator sees the control; another thread starts clean."""
    if chat.ai_show != is_operator:
        chat.ai_show = is_operator
    if not revisit:
        chat.ai_chips, chat.ai_source, chat.ai_notice, chat.ai_loading = [], "", "", False


def apply_plan(chat: ChatState, found: ThreadFeatures) -> None:
    """The thread's plan (also when it changes live): enabled, or the upgrade line."""
    allowed = "ai_suggestions" in found.features
    note = "" if allowed else ai_replies.upgrade_note()
    if chat.ai_allowed != allowed:
        chat.ai_allowed = allowed
    if chat.ai_note != note:
        chat.ai_note = note
    if not allowed and chat.ai_chips:
        chat.ai_chips, chat.ai_source = [], ""


async def begin(chat: ChatState) -> tuple[uuid.UUID, str] | None:
    """Inside the state's lock: who asks about which thread, with the spinner on; None when
    there is nothing to do (not the operator, not in the plan, one request already out)."""
    user_id = await chat._user()
    if user_id is None or not chat.open_id or chat.ai_loading:
        return None
    if not chat.ai_show or not chat.ai_allowed:
        return None
    chat.ai_loading, chat.ai_notice = True, ""
    return user_id, chat.open_id


async def fetch(user_id: uuid.UUID, thread_id: str) -> Fetched:
    """Outside the lock: the service on the AI threads (a refusal becomes the quiet notice)."""
    try:
        found = await aio.call_ai(ai_replies.suggest_replies, user_id=user_id, thread_id=thread_id)
    except DomainError as exc:
        return Fetched([], "", exc.message)
    chips = [s.as_dict() for s in found.suggestions]
    notice = found.notice or ("" if chips else NONE_FOUND)
    return Fetched(chips, source_label(found.provider) if chips else "", notice)


def finish(chat: ChatState, thread_id: str, fetched: Fetched) -> None:
    """Inside the lock again: show the chips, unless the tab moved to another thread."""
    chat.ai_loading = False
    if chat.open_id != thread_id:
        return
    chat.ai_chips, chat.ai_source, chat.ai_notice = fetched.chips, fetched.source, fetched.notice


async def suggest(chat: ChatState) -> None:
    async with chat:
        started = await begin(chat)
    if started is None:
        return
    fetched = await fetch(*started)
    async with chat:
        finish(chat, started[1], fetched)
