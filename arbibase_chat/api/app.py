"""The FastAPI app behind `/api`, mounted on the Reflex backend (`rx.App(api_transformer=...)`).

Reflex mounts its own backend (pages, `/_event`, `/_upload`) inside this app, so everything
here that is not a route steps aside for paths outside `/api`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from arbibase_chat.api import errors
from arbibase_chat.api.routes import (
    ai,
    attachments,
    auth,
    email,
    me,
    messages,
    notifications,
    offers,
    portfolio,
    properties,
    roi,
    threads,
    verification,
)
from arbibase_chat.config import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_VERSION = "1.0.0"
DOCS_URL = "/api/docs"
UPLOAD_PATH = re.compile(r"^/api/(messages/[^/]+/attachments|verification)/?$")
#: Room for the multipart envelope around an upload of exactly the size limit.
MULTIPART_OVERHEAD = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_api_path(path: str) -> bool:
    return path == errors.API_PREFIX or path.startswith(errors.API_PREFIX + "/")


class _BodyTooLarge(Exception):
    """The request body passed the configured limit while it was being read."""


class ApiGate:
    """ASGI middleware for `/api` only: origin allow-list and CORS, JSON bodies without a
    Content-Type (the seed's `fetch` sends text/plain), and the request body size limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cors_origins: list[str],
        max_json_bytes: int,
        max_upload_bytes: int,
    ) -> None:
        self.app = app
        self.origins = set(cors_origins)
        self.allow_all = "*" in self.origins
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=["GET", "POST", "PATCH", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "Content-Disposition"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, headers):
            body = errors.error_body(f"origin {origin!r} may not call this API", "origin")
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        method = scope["method"]
        if method in BODY_METHODS:
            scope = self._json_by_default(scope, headers)
        limit = self.max_json_bytes
        if method == "POST" and UPLOAD_PATH.match(scope["path"]):
            limit = self.max_upload_bytes + MULTIPART_OVERHEAD
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(limit)(scope, receive, send)
            return
        await self._limited(scope, receive, send, limit)

    def _origin_allowed(self, origin: str, headers: Headers) -> bool:
        if self.allow_all or origin.rstrip("/") in self.origins:
            return True
        host = headers.get("host", "").lower()
        return bool(host) and origin.lower().split("://", 1)[-1] == host

    @staticmethod
    def _json_by_default(scope: Scope, headers: Headers) -> Scope:
        content_type = headers.get("content-type", "")
        if content_type and not content_type.lower().startswith("text/plain"):
            return scope
        raw = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
        raw.append((b"content-type", b"application/json"))
        return {**scope, "headers": raw}

    @staticmethod
    def _too_large(limit: int) -> Response:
        body = errors.error_body(f"request body is larger than {limit} bytes", "too_large")
        return JSONResponse(body, status_code=413, headers={"Connection": "close"})

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        too_large = False
        replied = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replied
            if not too_large:
                await send(message)
                return
            # The app met our exception and answers with its own error: answer 413 instead.
            if not replied and message["type"] == "http.response.start":
                replied = True
                await self._too_large(limit)(scope, receive, send)

        try:
            await self.cors(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not replied:
                replied = True
                await self._too_large(limit)(scope, receive, send)


async def _api_fallback(request: Request) -> Response:
    """JSON for `/api` paths no route serves: 405 (with Allow) for a known path, else 404."""
    allowed: set[str] = set()
    scope = {**request.scope, "method": "__any__"}
    for route in request.app.state.api_routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            allowed |= route.methods or set()
    if allowed:
        raise StarletteHTTPException(
            405, "method not allowed", {"Allow": ", ".join(sorted(allowed))}
        )
    raise StarletteHTTPException(404, "no such API route")


def create_api(*, engine: Engine | None = None) -> FastAPI:
    """The API app; `engine` binds it to one database (tests), else the configured one."""
    settings = get_settings()
    # The docs page's Swagger UI (JS, CSS, icon) is served by the app itself from the
    # fastapi-offline package, not a CDN: it renders on a closed network, and under the page
    # CSP (script-src 'self'), which refuses outside scripts anyway.
    app = FastAPIOffline(
        title="ArbiBase Chat API",
        version=API_VERSION,
        description=(
            "Threads, messages, attachments and read state of ArbiBase Chat. Authenticate with "
            "`Authorization: Bearer <access_token>` from `POST /api/auth/login`, or, from the "
            "app's own pages, with its cookie. Errors are JSON: `{error, code, field}`."
        ),
        openapi_url="/api/openapi.json",
        docs_url=DOCS_URL,
        redoc_url=None,
        static_url=DOCS_URL + "/static",
        swagger_ui_oauth2_redirect_url=DOCS_URL + "/oauth2-redirect",
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.engine = engine
    errors.install(app)
    app.state.api_routes = []
    # threads before messages: `/api/messages/threads` must not be read as a thread id.
    for module in (
        auth,
        me,
        offers,
        threads,
        notifications,
        messages,
        attachments,
        portfolio,
        properties,
        roi,
        verification,
        ai,
        email,
    ):
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
        app.state.api_routes += [r for r in module.router.routes if isinstance(r, APIRoute)]
    every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    for path in ("/api", "/api/{path:path}"):
        app.add_api_route(path, _api_fallback, methods=every, include_in_schema=False)
    app.add_middleware(
        ApiGate,
        cors_origins=settings.cors_origins,
        max_json_bytes=settings.max_json_body_bytes,
        max_upload_bytes=settings.max_attachment_bytes,
    )
    return app
