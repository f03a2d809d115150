"""The notification e-mails' unsubscribe link (issue #12, part 2; RFC 8058 one-click).

`POST /api/email/unsubscribe/{token}` is what a mail client's "Unsubscribe" button sends
(`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, form-encoded, no cookie, no session):
the token (services/email_tokens.py) names the recipient and the thread, and the thread is
muted until unmuted for that user, acting as themselves (services/mutes.py). The body is not
needed: the token is the credential, and muting again changes nothing.

`GET` on the same URL (a person clicking the link in the e-mail's footer, or a link scanner
fetching it) only shows a page with a button that POSTs: nothing changes on a GET.

An unknown, malformed or expired token: 404 (JSON for the POST as everywhere in the API; a
small HTML page for the GET, which a person reads).
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from arbibase_chat import links, routes
from arbibase_chat.api.deps import Db, run
from arbibase_chat.api.errors import ApiError, error_body
from arbibase_chat.config import get_settings
from arbibase_chat.services import email_tokens, mutes

router = APIRouter(tags=["email"])

NOT_FOUND = "this link is unknown or has expired"
_HTML = {"text/html": {"schema": {"type": "string"}}}
GET_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A page asking to confirm (a form that POSTs here).", "content": _HTML},
    404: {"description": "Unknown or expired link: a page saying so.", "content": _HTML},
}
POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Muted until unmuted: JSON, or a page for a browser (`Accept: text/html`).",
        "content": _HTML,
    },
}


class Unsubscribed(BaseModel):
    thread_id: uuid.UUID
    muted_until: datetime | None


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · ArbiBase Chat</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:480px;margin:48px auto;'
        'padding:0 16px;color:#0f172a">'
        f'<h1 style="font-size:22px">{html.escape(title)}</h1>{body}</body></html>'
    )
    # Never cached, never indexed: the URL carries a credential.
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    return HTMLResponse(document, status_code=status, headers=headers)


def _thread_url(thread_id: uuid.UUID) -> str:
    return get_settings().public_url.rstrip("/") + routes.thread(str(thread_id))


# Not `response_class=HTMLResponse`: that would document every error of the route (JSON, as
# everywhere in the API) as text/html too.
@router.get(
    links.EMAIL_UNSUBSCRIBE_ROUTE,
    response_model=None,
    responses=GET_RESPONSES,
    name="email_unsubscribe_page",
)
async def unsubscribe_page(token: str, db: Db) -> HTMLResponse:
    """Asks to confirm; changes nothing (mail scanners follow links)."""
    owner = await run(email_tokens.resolve, token=token, db=db)
    if owner is None:
        return _page("Link expired", f"<p>{html.escape(NOT_FOUND.capitalize())}.</p>", status=404)
    action = html.escape(links.email_unsubscribe(token), quote=True)
    form = (
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit" id="confirm-unsubscribe" style="padding:10px 16px;'
        "border-radius:6px;border:none;background:#2563eb;color:#fff;font-weight:600;"
        'cursor:pointer">Mute this conversation</button></form>'
    )
    return _page(
        "Stop e-mails about this conversation?",
        "<p>Muting stops e-mails and notifications about this one conversation until you "
        "unmute it in the app. Nothing else changes.</p>" + form,
    )


@router.post(
    links.EMAIL_UNSUBSCRIBE_ROUTE,
    response_model=Unsubscribed,
    responses=POST_RESPONSES,
    name="email_unsubscribe",
)
async def unsubscribe(token: str, request: Request, db: Db) -> Any:
    """RFC 8058 one-click: mute the token's thread for its user, until unmuted. A browser
    (the confirmation page's button, `Accept: text/html`) gets a page; anything else JSON."""
    owner = await run(email_tokens.resolve, token=token, db=db)
    if owner is None:
        raise ApiError(404, error_body(NOT_FOUND, "not_found"))
    until = await run(
        mutes.set_mute, user_id=owner.user_id, thread_id=owner.thread_id, duration="forever", db=db
    )
    if "text/html" in request.headers.get("accept", ""):
        link = html.escape(_thread_url(owner.thread_id), quote=True)
        return _page(
            "Conversation muted",
            "<p>You will get no more e-mails or notifications about this conversation. "
            f'Unmute it any time from the conversation: <a href="{link}">open it</a>.</p>',
        )
    return Unsubscribed(thread_id=owner.thread_id, muted_until=until)
