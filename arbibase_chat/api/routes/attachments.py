"""Upload a file to a thread (multipart) and download it again, for participants only."""

from __future__ import annotations

import uuid
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from arbibase_chat import links
from arbibase_chat.adapters.storage import SignedUrl
from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.errors import ApiError, error_body
from arbibase_chat.models import AttachmentPublic
from arbibase_chat.services import attachments

router = APIRouter(tags=["attachments"])

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
DOWNLOAD_TYPES = sorted({*attachments.ALLOWED, attachments.THUMBNAIL_TYPE})
DOWNLOAD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, with the type sniffed from its content at upload. "
        "With Supabase Storage and `Accept: application/json`: `{url, expires_in}`, a "
        "short-lived signed URL of the file.",
        "content": {
            **{media: _BINARY for media in DOWNLOAD_TYPES},
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["url", "expires_in"],
                    "properties": {
                        "url": {"type": "string", "format": "uri"},
                        "expires_in": {"type": "integer"},
                    },
                }
            },
        },
    },
    302: {
        "description": "With Supabase Storage: a redirect to a short-lived signed URL of the "
        "file, issued after the participant check.",
        "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
    },
}
# A signed URL is a credential for its lifetime: never cached, never sent on as a Referer.
SIGNED_URL_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# The stored bytes are never rendered as a page of ours: no sniffing, no scripts, no origin.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _bad_file(message: str) -> ApiError:
    return ApiError(422, error_body(message, "invalid", "file"))


@router.post(
    "/api/messages/{threadId}/attachments",
    status_code=201,
    response_model=AttachmentPublic,
    name="upload_attachment",
    openapi_extra=UPLOAD_BODY,
)
async def upload_attachment(
    threadId: uuid.UUID, request: Request, user_id: CurrentUser, db: Db
) -> AttachmentPublic:
    """Upload one file (multipart field `file`); send its `id` as `attachmentId` in a message.

    Allowed by content: PDF, PNG/JPEG/GIF/WebP, Word, Excel, and UTF-8 .csv/.txt. Images
    get a thumbnail (`thumbnail_url`).
    """
    # Who may upload is checked before the body is read (the form is parsed below, not by
    # FastAPI, which would spool the whole upload first).
    await run(attachments.check_upload, user_id=user_id, thread_id=threadId, db=db)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except StarletteHTTPException as exc:
        raise _bad_file(f"unreadable multipart body: {exc.detail}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _bad_file("send the file as multipart/form-data field 'file'")
        return await run(
            attachments.store_attachment,
            user_id=user_id,
            thread_id=threadId,
            filename=upload.filename,
            source=upload.file,
            db=db,
        )
    finally:
        await form.close()


def _disposition(kind: str, filename: str) -> str:
    fallback = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename
    ).strip()
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    links.ATTACHMENT_ROUTE,
    response_class=FileResponse,
    responses=DOWNLOAD_RESPONSE,
    name="download_attachment",
)
async def download_attachment(
    attachmentId: uuid.UUID,
    request: Request,
    user_id: CurrentUser,
    db: Db,
    variant: Literal["original", "thumbnail"] = "original",
) -> Response:
    """The file (or its WebP thumbnail), for participants of its thread.

    With Supabase Storage the bytes are not proxied: after the participant check the answer
    is a 302 to a short-lived signed URL, or `{url, expires_in}` when the request
    `Accept`s `application/json`.
    """
    att, where = await run(
        attachments.locate_attachment,
        user_id=user_id,
        attachment_id=attachmentId,
        variant=variant,
        db=db,
    )
    if isinstance(where, SignedUrl):
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(
                {"url": where.url, "expires_in": where.expires_in}, headers=SIGNED_URL_HEADERS
            )
        return RedirectResponse(where.url, status_code=302, headers=SIGNED_URL_HEADERS)
    media_type, filename = att.content_type, att.filename
    if variant == "thumbnail":
        media_type = attachments.THUMBNAIL_TYPE
        filename = filename.rpartition(".")[0] or filename
        filename += ".webp"
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    # Images are safe to show in place (no SVG is ever accepted); everything else downloads.
    kind = "inline" if att.is_image else "attachment"
    headers = {**FILE_HEADERS, "Content-Disposition": _disposition(kind, filename)}
    return FileResponse(where, media_type=media_type, headers=headers)
