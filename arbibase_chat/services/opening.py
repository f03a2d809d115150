"""Open a negotiation and post into it in one transaction: both rows are written, or neither.

For "Send Offer" from the ROI calculator: an operator who has no thread with the owner yet
must not be left with an empty thread when the message is refused (closed to them, rate
limited, a bad attachment). Composes `threads.get_or_create_in` and `messages.append_in`;
its own module so that neither of those modules imports the other.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from arbibase_chat.models import MessagePublic, ThreadOpened
from arbibase_chat.services import _access, messages, ratelimit, threads
from arbibase_chat.services._tx import transaction


def open_with_message(
    *,
    user_id: uuid.UUID,
    property_id: Any,
    owner_id: Any,
    body: Any,
    subject: Any = None,
    kind: Any = "text",
    metadata: Any = None,
    client_msg_id: Any = None,
    attachment_url: Any = None,
    attachment_id: Any = None,
    db: Engine | None = None,
) -> tuple[ThreadOpened, MessagePublic]:
    """The pair's active thread (opened if there is none) and the caller's message in it.

    The caller is the operator, as for `threads.get_or_create_thread`; the message follows the
    rules of `messages.send_message` (rate limit, client_msg_id retries). Every argument but
    `user_id` and `db` is raw input, validated here before anything is written.
    """
    opening = threads.validate_opening(
        user_id=user_id, property_id=property_id, owner_id=owner_id, subject=subject
    )
    draft = messages.validate_draft(
        body=body,
        attachment_url=attachment_url,
        client_msg_id=client_msg_id,
        kind=kind,
        metadata=metadata,
        attachment_id=attachment_id,
    )
    ratelimit.check_send(user_id=user_id)
    for attempt in (1, 2):
        try:
            with transaction(db, as_user=user_id) as (session, outbox):
                opened = threads.get_or_create_in(session, outbox, user_id=user_id, opening=opening)
                thread, _ = _access.participant_thread(
                    session, user_id=user_id, thread_id=opened.id, for_update=True
                )
                message = messages.append_in(
                    session, outbox, user_id=user_id, thread=thread, draft=draft
                )
            return opened, message
        except IntegrityError:
            # A concurrent creator of the same active thread, or a concurrent send of the same
            # client_msg_id, committed first: the second pass finds theirs.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
