"""The seed's `/api/messages/threads` (list, get-or-create) and thread changes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.schemas import ThreadCreated, ThreadCreateIn, ThreadList, ThreadPatchIn
from arbibase_chat.models import DealStage, Role, ThreadPublic, ThreadStatus
from arbibase_chat.services import inbox, threads

router = APIRouter(prefix="/api/messages/threads", tags=["threads"])


@router.get("", response_model=ThreadList, name="list_threads")
async def list_threads(
    user_id: CurrentUser,
    db: Db,
    role: Annotated[Role | None, Query(description="Only threads where I am this")] = None,
    propertyId: uuid.UUID | None = None,
    status: ThreadStatus | None = None,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(json_schema_extra={"minimum": 1, "maximum": 200})] = None,
    stage: Annotated[DealStage | None, Query(description="Only threads at this deal stage")] = None,
) -> ThreadList:
    """My threads, newest activity first (the seed's `{"data": [...]}` plus `next_cursor`)."""
    page = await run(
        inbox.list_threads,
        user_id=user_id,
        role=role,
        property_id=propertyId,
        status=status,
        tag=tag,
        cursor=cursor,
        limit=limit,
        stage=stage,
        db=db,
    )
    return ThreadList(data=page.items, next_cursor=page.next_cursor)


@router.post("", response_model=ThreadCreated, name="open_thread")
async def open_thread(body: ThreadCreateIn, user_id: CurrentUser, db: Db) -> ThreadCreated:
    """Get or create the active thread of a property with its owner; the caller is the operator."""
    opened = await run(
        threads.get_or_create_thread,
        user_id=user_id,
        property_id=body.propertyId,
        owner_id=body.ownerId,
        subject=body.subject,
        db=db,
    )
    return ThreadCreated(id=opened.id)


@router.patch("/{threadId}", response_model=ThreadPublic, name="update_thread")
async def update_thread(
    threadId: uuid.UUID, body: ThreadPatchIn, user_id: CurrentUser, db: Db
) -> ThreadPublic:
    """Change status, subject and tags (either participant)."""
    # The tag-count limit names no list: blame the one that was sent.
    tag_field = "removeTags" if body.removeTags and not body.addTags else "addTags"
    return await run(
        threads.update_thread,
        fields={"tags": tag_field},
        user_id=user_id,
        thread_id=threadId,
        status=body.status,
        subject=body.subject,
        add_tags=body.addTags,
        remove_tags=body.removeTags,
        db=db,
    )
