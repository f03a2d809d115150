"""Every API error is JSON: domain errors, validation errors, HTTP errors and crashes.

Domain errors map to status codes here and nowhere else: NotFound 404, Forbidden 403 (the
code says which rule: `operators_only`, `owners_only`, `verify_ownership`), Invalid 422
(TooLarge 413, a storage quota too: `storage_quota_exceeded`), Conflict 409,
AuthenticationFailed 401 with the seed's exact `{"error": "Unauthorized"}`, RateLimited 429
with Retry-After, TooManyPending 429 without one (`too_many_pending_uploads`: waiting does not
help, sending the pending files does),
Unavailable 503 (Supabase Auth/Storage did not answer), Busy 503 with Retry-After (the worker
refused a send it had no room for). Field names in error bodies are
the API's own (`text`, `threadId`, ...), not the services' argument names.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response

from arbibase_chat.services.errors import (
    AuthenticationFailed,
    Busy,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    TooLarge,
    TooManyPending,
    Unavailable,
    UpgradeRequired,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api"
UNAUTHORIZED: dict[str, Any] = {"error": "Unauthorized"}

#: Service argument names -> the names API clients send (the seed's camelCase bodies).
FIELD_NAMES: dict[str, str] = {
    "body": "text",
    "attachment_url": "attachmentUrl",
    "attachment_id": "attachmentId",
    "client_msg_id": "clientMsgId",
    "thread_id": "threadId",
    "property_id": "propertyId",
    "owner_id": "ownerId",
    "up_to_message_id": "upToMessageId",
    "message_id": "messageId",
    "add_tags": "addTags",
    "remove_tags": "removeTags",
    "offer_id": "offerId",
    "share_numbers": "shareNumbers",
    "min_rent_cents": "minRent",
    "max_rent_cents": "maxRent",
    "min_bedrooms": "minBedrooms",
}


class ErrorBody(BaseModel):
    """Every error response. 401 is exactly `{"error": "Unauthorized"}` (the seed's shape)."""

    error: str
    code: str | None = None
    field: str | None = None
    retry_after: int | None = None
    feature: str | None = None  # upgrade_required: the plan feature the call needs
    details: list[dict[str, Any]] | None = None


def described(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


#: Documented on every route (a route may not produce all of them).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: described('No or bad credentials: exactly `{"error": "Unauthorized"}`.'),
    403: described("Not allowed yet (e.g. an unverified owner), or a refused cross-site call."),
    404: described("Missing, or not yours: the same answer either way."),
    409: described("Conflicts with the current state."),
    413: described("Request body or file over its limit."),
    422: described("Bad input; `field` names the offending field."),
    429: {
        **described(
            "Rate limited; retry after `Retry-After` seconds. Without `Retry-After` "
            "(`too_many_pending_uploads`): send the files already uploaded first."
        ),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    },
}


class ApiError(Exception):
    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def unauthorized() -> ApiError:
    return ApiError(401, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})


def _printable(text: str) -> str:
    """A message or field name echoing input may hold a lone surrogate, which JSON responses
    cannot encode (a 500 in place of the 422): shown as U+FFFD instead."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def error_body(message: str, code: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": _printable(message), "code": code}
    if field is not None:
        body["field"] = _printable(field)
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def from_domain(exc: DomainError, fields: Mapping[str, str] | None = None) -> ApiError:
    names = {**FIELD_NAMES, **(fields or {})}
    field = names.get(exc.field, exc.field) if exc.field else None
    if isinstance(exc, AuthenticationFailed):
        return unauthorized()
    if isinstance(exc, Busy):
        return ApiError(
            503, error_body(exc.message, exc.code, field, retry_after=1), {"Retry-After": "1"}
        )
    if isinstance(exc, RateLimited):
        seconds = max(1, math.ceil(exc.retry_after))
        return ApiError(
            429,
            error_body(exc.message, exc.code, field, retry_after=seconds),
            {"Retry-After": str(seconds)},
        )
    status = 500
    if isinstance(exc, TooManyPending):
        status = 429
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Forbidden):
        status = 403
    elif isinstance(exc, TooLarge):
        status = 413
    elif isinstance(exc, Invalid):
        status = 422
    elif isinstance(exc, Conflict):
        status = 409
    elif isinstance(exc, Unavailable):
        status = 503
    if isinstance(exc, UpgradeRequired):
        # 403 {"code": "upgrade_required", "feature": ...}: which plan feature is missing.
        return ApiError(status, error_body(exc.message, exc.code, field, feature=exc.feature))
    return ApiError(status, error_body(exc.message, exc.code, field))


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _loc_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return parts[0] if parts else "body"


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return from_domain(exc).response()


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = []
    for err in exc.errors():
        field = _loc_field(err.get("loc", ()))
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            field, message = "body", "request body is not valid JSON"
        elif err.get("type") == "missing" and field == "body":
            message = "request body is required"
        details.append({"field": _printable(field), "message": _printable(message)})
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    body = error_body(
        f"{first['field']}: {first['message']}", "invalid", first["field"], details=details
    )
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _is_api(request):  # the mounted Reflex app keeps Starlette's behaviour
        return await http_exception_handler(request, exc)
    if exc.status_code == 401:
        return unauthorized().response()
    if exc.status_code == 400:  # FastAPI could not read the body (e.g. not UTF-8)
        message = "body: request body is not valid JSON"
        return JSONResponse(error_body(message, "invalid", "body"), status_code=422)
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    body = error_body(detail, codes.get(exc.status_code, "error"))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if not _is_api(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    return JSONResponse({"error": "Internal Server Error", "code": "internal"}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _crash)
