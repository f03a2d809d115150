"""AI reply suggestions for the thread's operator (Premium): services/ai_replies.py.

403 `operators_only` for the thread's owner, 403 `upgrade_required` (`feature:
ai_suggestions`) when the thread's plan does not include them, 404 for a stranger, 429 with
Retry-After past the per-user `ai` limit. A provider that fails or times out is not an error:
200 with no suggestions and a `notice`.
"""

from __future__ import annotations

from fastapi import APIRouter

from arbibase_chat import aio
from arbibase_chat.api.deps import CurrentUser, Db
from arbibase_chat.api.errors import from_domain
from arbibase_chat.api.schemas import AiReplyIn, AiReplyOut, AiSuggestionOut
from arbibase_chat.services import ai_replies
from arbibase_chat.services.errors import DomainError

router = APIRouter(prefix="/api/ai", tags=["ai"])


@router.post("/reply", response_model=AiReplyOut, name="suggest_replies")
async def suggest_replies(body: AiReplyIn, user_id: CurrentUser, db: Db) -> AiReplyOut:
    """Up to three reply drafts for the thread's operator, from the thread's context (the
    property, the last messages, the latest offer, the operator's ROI snapshot). A suggested
    rent never exceeds the rent at which the operator's numbers still reach the target
    cash-on-cash return (AI_TARGET_CASH_ON_CASH_PCT)."""
    # On the AI threads: the database reads and the provider's HTTP call (bounded by its
    # timeout) never hold the event loop or the pool every other request uses.
    try:
        found = await aio.call_ai(
            ai_replies.suggest_replies, user_id=user_id, thread_id=body.threadId, db=db
        )
    except DomainError as exc:
        raise from_domain(exc) from None
    return AiReplyOut(
        suggestions=[
            AiSuggestionOut(text=s.text, intent=s.intent)  # type: ignore[arg-type]
            for s in found.suggestions
        ],
        provider=found.provider,
        notice=found.notice,
    )
