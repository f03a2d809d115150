"""Owner verification: my claim and its proof upload; staff review (approve / reject)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, RedirectResponse

from arbibase_chat import links
from arbibase_chat.adapters.storage import SignedUrl
from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.routes.attachments import (
    _BINARY,
    FILE_HEADERS,
    SIGNED_URL_HEADERS,
    _bad_file,
    _disposition,
)
from arbibase_chat.models import ClaimPublic
from arbibase_chat.services import verification

router = APIRouter(tags=["verification"])

SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "note": {"type": "string", "maxLength": verification.MAX_NOTE_CHARS},
                    },
                }
            }
        },
    }
}


PROOF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The proof document. With Supabase Storage and `Accept: "
        "application/json`: `{url, expires_in}`, a short-lived signed URL of it.",
        "content": {
            **{media: _BINARY for media in sorted(verification.PROOF_TYPES)},
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
        "description": "With Supabase Storage: a redirect to a short-lived signed URL, issued "
        "after the owner-or-staff check.",
        "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
    },
}


class MyClaim(BaseModel):
    """My newest verification claim (`claim` null: none yet) and whether I am verified."""

    claim: ClaimPublic | None


class ClaimList(BaseModel):
    data: list[ClaimPublic]


class RejectIn(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=verification.MAX_REASON_CHARS)]


@router.get(links.VERIFICATION, response_model=MyClaim, name="my_verification_claim")
async def my_claim(user_id: CurrentUser, db: Db) -> MyClaim:
    """My newest ownership verification claim, with the reason when it was rejected."""
    return MyClaim(claim=await run(verification.my_claim, user_id=user_id, db=db))


@router.post(
    links.VERIFICATION,
    status_code=201,
    response_model=ClaimPublic,
    name="submit_verification_claim",
    openapi_extra=SUBMIT_BODY,
)
async def submit_claim(request: Request, user_id: CurrentUser, db: Db) -> ClaimPublic:
    """Submit a proof of ownership (multipart `file`: PDF, image or Word; optional `note`).

    Unverified owner accounts only (403 `owners_only`; 409 `already_verified`); one claim
    under review at a time (409 `claim_pending`).
    """
    await run(verification.check_submit, user_id=user_id, db=db)  # before the body is read
    try:
        form = await request.form(max_files=1, max_fields=10)
    except StarletteHTTPException as exc:
        raise _bad_file(f"unreadable multipart body: {exc.detail}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _bad_file("send the file as multipart/form-data field 'file'")
        note = form.get("note")
        return await run(
            verification.submit_claim,
            user_id=user_id,
            filename=upload.filename,
            source=upload.file,
            note=note if isinstance(note, str) else None,
            db=db,
        )
    finally:
        await form.close()


@router.get(
    links.VERIFICATION_PROOF_ROUTE,
    response_class=FileResponse,
    responses=PROOF_RESPONSE,
    name="download_verification_proof",
)
async def download_proof(claimId: uuid.UUID, request: Request, user_id: CurrentUser, db: Db):
    """The claim's proof document, for its owner and ArbiBase staff (404 for anyone else)."""
    claim, where = await run(verification.locate_proof, user_id=user_id, claim_id=claimId, db=db)
    if isinstance(where, SignedUrl):
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(
                {"url": where.url, "expires_in": where.expires_in}, headers=SIGNED_URL_HEADERS
            )
        return RedirectResponse(where.url, status_code=302, headers=SIGNED_URL_HEADERS)
    media_type = claim.proof_content_type or "application/octet-stream"
    kind = "inline" if media_type.startswith("image/") else "attachment"
    headers = {
        **FILE_HEADERS,
        "Content-Disposition": _disposition(kind, claim.proof_filename or "proof"),
    }
    return FileResponse(where, media_type=media_type, headers=headers)


@router.get("/api/staff/verifications", response_model=ClaimList, name="list_pending_claims")
async def list_pending(user_id: CurrentUser, db: Db) -> ClaimList:
    """Claims under review, oldest first (staff only: 403 `staff_only`)."""
    return ClaimList(data=await run(verification.list_pending, user_id=user_id, db=db))


@router.post(
    "/api/staff/verifications/{claimId}/approve",
    response_model=ClaimPublic,
    name="approve_claim",
)
async def approve(claimId: uuid.UUID, user_id: CurrentUser, db: Db) -> ClaimPublic:
    """Approve a claim under review: the owner is verified (staff only)."""
    return await run(verification.approve, staff_id=user_id, claim_id=claimId, db=db)


@router.post(
    "/api/staff/verifications/{claimId}/reject",
    response_model=ClaimPublic,
    name="reject_claim",
)
async def reject(claimId: uuid.UUID, body: RejectIn, user_id: CurrentUser, db: Db) -> ClaimPublic:
    """Reject a claim under review with a reason the owner sees (staff only)."""
    return await run(
        verification.reject, staff_id=user_id, claim_id=claimId, reason=body.reason, db=db
    )
