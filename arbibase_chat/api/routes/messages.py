"""The seed's `/api/messages/{threadId}` (history, send), mark-read, and editing or deleting
one's own message (`/api/messages/{threadId}/{messageId}`).

Edit and delete: 200 with the message (a delete: the tombstone, `deletedAt` set, no text);
409 with a code (`not_sender`, `not_editable`, `message_deleted`, `edit_window_closed`,
`thread_closed`); a stranger 404; an unverified owner 403 `verify_ownership`.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException as StarletteHTTPException

from arbibase_chat import aio
from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.schemas import (
    MessageCreated,
    MessageCreateIn,
    MessageEditIn,
    MessageList,
    MessageSearchHit,
    MessageSearchResults,
    ReadIn,
    SnippetPieceOut,
)
from arbibase_chat.models import MessagePublic, ReadState
from arbibase_chat.services import fulltext, message_edits, messages, reads, search

router = APIRouter(prefix="/api/messages", tags=["messages"])


def _iso_only(value: Any) -> Any:
    """The schema says an ISO 8601 string: a bare number (pydantic would read it as a Unix
    time) is refused, as the schema promises (schemathesis: negative_data_rejection)."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-12-05T10:00:00Z")
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


# Before `/{threadId}`: "search" must not be read as a thread id.
@router.get("/search", response_model=MessageSearchResults, name="search_messages")
async def search_messages(
    user_id: CurrentUser,
    db: Db,
    q: Annotated[
        str,
        Query(
            description="Words to find (all of them; the last one as a prefix)",
            json_schema_extra={"minLength": 1, "maxLength": fulltext.MAX_QUERY_CHARS},
        ),
    ],
    limit: Annotated[
        int | None, Query(json_schema_extra={"minimum": 1, "maximum": search.MAX_LIMIT})
    ] = None,
    before: Annotated[
        IsoDateTime | None,
        Query(description="Only messages sent before this time (ISO 8601)"),
    ] = None,
) -> MessageSearchResults:
    """Messages of my threads holding the words, best first (a stranger's are never there).
    The snippet is plain-text pieces, never HTML."""
    hits = await run(
        search.search_messages,
        user_id=user_id,
        query=q,
        limit=20 if limit is None else limit,
        before=before,
        db=db,
    )
    return MessageSearchResults(
        results=[
            MessageSearchHit(
                threadId=h.thread_id,
                messageId=h.message_id,
                seq=h.seq,
                snippet=[SnippetPieceOut(text=p.text, match=p.match) for p in h.snippet],
                createdAt=h.created_at,
                senderId=h.sender_id,
                senderName=h.sender_name,
                threadTitle=h.thread_title,
                propertyTitle=h.property_title,
                status=h.status,
                rank=h.rank,
            )
            for h in hits
        ]
    )


# Other methods on /search would reach `POST /{threadId}` (422 for "search") or the fallback
# (whose Allow would list /{threadId}'s methods): 405, Allow GET, HEAD.
@router.api_route(
    "/search",
    methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
    include_in_schema=False,
)
async def search_messages_other_methods() -> None:
    raise StarletteHTTPException(405, "method not allowed", {"Allow": "GET, HEAD"})


@router.get("/{threadId}", response_model=MessageList, name="list_messages")
async def list_messages(
    threadId: uuid.UUID,
    user_id: CurrentUser,
    db: Db,
    before: Annotated[uuid.UUID | None, Query(description="Page older than this message")] = None,
    after: Annotated[uuid.UUID | None, Query(description="Messages newer than this one")] = None,
    limit: Annotated[int | None, Query(json_schema_extra={"minimum": 1, "maximum": 200})] = None,
) -> MessageList:
    """A page of the thread's history, oldest first (default: the newest page)."""
    items = await run(
        messages.list_messages,
        user_id=user_id,
        thread_id=threadId,
        before=before,
        after=after,
        limit=limit,
        db=db,
    )
    return MessageList(data=items)


@router.post("/{threadId}", response_model=MessageCreated, name="send_message")
async def send_message(
    threadId: uuid.UUID, body: MessageCreateIn, user_id: CurrentUser, db: Db
) -> MessageCreated:
    """Send a message (the seed's `{text, attachmentUrl}`); idempotent on `clientMsgId`.

    503 with Retry-After when this worker is overloaded (nothing was stored)."""
    sent = await run(
        messages.send_message,
        gate=aio.sends,
        user_id=user_id,
        thread_id=threadId,
        body=body.text,
        attachment_url=body.attachmentUrl,
        attachment_id=body.attachmentId,
        client_msg_id=body.clientMsgId,
        kind=body.kind,
        metadata=body.metadata,
        db=db,
    )
    return MessageCreated(id=sent.id, created_at=sent.created_at)


@router.post("/{threadId}/read", response_model=ReadState, name="mark_read")
async def mark_read(
    threadId: uuid.UUID,
    user_id: CurrentUser,
    db: Db,
    body: Annotated[ReadIn | None, Body()] = None,
) -> ReadState:
    """Move my read cursor forward to a message (default: the newest). Never moves back."""
    return await run(
        reads.mark_read,
        user_id=user_id,
        thread_id=threadId,
        up_to_message_id=body.upToMessageId if body else None,
        db=db,
    )


@router.patch(
    "/{threadId:uuid}/{messageId:uuid}", response_model=MessagePublic, name="edit_message"
)
async def edit_message(
    threadId: uuid.UUID, messageId: uuid.UUID, body: MessageEditIn, user_id: CurrentUser, db: Db
) -> MessagePublic:
    """Replace the text of my own text message within the edit window (`editedAt` is set;
    the previous text is kept for audit). The same text again changes nothing."""
    return await run(
        message_edits.edit_message,
        user_id=user_id,
        thread_id=threadId,
        message_id=messageId,
        body=body.text,
        db=db,
    )


@router.delete(
    "/{threadId:uuid}/{messageId:uuid}", response_model=MessagePublic, name="delete_message"
)
async def delete_message(
    threadId: uuid.UUID, messageId: uuid.UUID, user_id: CurrentUser, db: Db
) -> MessagePublic:
    """Delete my own text message within the edit window: 200 with its tombstone for both
    parties (`deletedAt` set; text, link, file and metadata gone; the text kept for audit)."""
    return await run(
        message_edits.delete_message,
        user_id=user_id,
        thread_id=threadId,
        message_id=messageId,
        db=db,
    )
