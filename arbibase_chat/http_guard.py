"""ASGI middleware around the whole app (pages, Reflex's `/_event` and `/_upload`, `/api`).

What Reflex itself leaves open, closed in one place:

- `POST /_upload` (the composer's file upload) takes any `Reflex-Client-Token` and buffers the
  whole body before any handler runs. Here it needs a signed-in user (the same access-token
  cookie the API accepts), a same-origin request, one of the app's upload handlers (the
  composer's, the verification proof's), and a
  body within the attachment limit: refused by the declared length before anything is read,
  and cut off while streaming when no length was declared. `GET /_upload/...` (Reflex's public
  folder of uploaded files) serves nothing: attachments live behind `/api/attachments/{id}`.
- The websocket `/_event` accepts only the app's own origin (or a configured CORS origin):
  another site's page cannot open a socket to it. Clients that send no Origin (scripts) are
  let through; they hold no victim's cookie to ride on.
- Every HTTP response gets the browser-side protections: a Content-Security-Policy (on pages),
  no framing, no MIME sniffing, referrers only to our own origin.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import zlib
from base64 import b64encode
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.routing import Mount

from arbibase_chat import aio
from arbibase_chat.config import ACCESS_TOKEN_COOKIE, get_settings
from arbibase_chat.services import identity
from arbibase_chat.services.errors import AuthenticationFailed, DomainError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

UPLOAD_PATH = "/_upload"
EVENT_PATH = "/_event"
#: Room for the multipart envelope around a file of exactly the size limit.
MULTIPART_OVERHEAD = 64 * 1024
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
# Pages are the only HTML we serve; they are small (a few KB), so hashing their inline
# scripts costs nothing measurable and lets the policy refuse every other inline script.
_MAX_HTML_TO_HASH = 2 * 1024 * 1024

SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


def content_security_policy(script_hashes: list[str], extra_img_src: str = "") -> str:
    """The page policy: our own scripts (and the page's own inline ones, by hash), no
    plugins, no framing, forms and sockets to our own origin only."""
    scripts = " ".join(f"'sha256-{h}'" for h in script_hashes)
    return "; ".join(
        [
            "default-src 'self'",
            # 'unsafe-eval': Reflex runs the toasts a handler returns through `eval` (its
            # `_call_function` event). Injected inline or outside scripts stay refused.
            f"script-src 'self' 'unsafe-eval' {scripts}".rstrip(),
            # Radix Themes and Emotion write style attributes and <style> tags at runtime.
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {extra_img_src}".rstrip(),
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def mounted_at(app: Any, path: str) -> ASGIApp | None:
    """The app Starlette mounts at `path` inside `app` (through mounts at ""), or None."""
    for route in getattr(app, "routes", ()):
        if not isinstance(route, Mount):
            continue
        if route.path == path:
            return route.app
        if route.path == "" and (found := mounted_at(route.app, path)) is not None:
            return found
    return None


class _TooLarge(Exception):
    """An upload body passed the limit while it was being read."""


def _json(status: int, error: str, code: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": error, "code": code}).encode()


class HttpGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        upload_handlers: Collection[str],
        max_upload_bytes: int | None = None,
        cors_origins: list[str] | None = None,
    ) -> None:
        settings = get_settings()
        self.app = app
        self.upload_handlers = frozenset(upload_handlers)
        self.max_upload_bytes = (
            settings.max_attachment_bytes if max_upload_bytes is None else max_upload_bytes
        ) + MULTIPART_OVERHEAD
        self.origins = {
            o.rstrip("/").lower()
            for o in (settings.cors_origins if cors_origins is None else cors_origins)
        }
        # Supabase mode: thumbnails and downloads redirect to signed Storage URLs.
        self.img_src = settings.supabase_url.rstrip("/") if settings.supabase_url else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path = scope.get("path", "")
        if (
            kind == "websocket"
            and path.startswith(EVENT_PATH)
            and not self._origin_ok(Headers(scope=scope))
        ):
            log.warning("websocket refused: origin %r", Headers(scope=scope).get("origin"))
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        if kind == "websocket" and path.startswith(EVENT_PATH):
            socket_app = self._socket_app
            if socket_app is not None:
                # Straight to Reflex's socket app, as its mount would route it: the layers
                # between (FastAPI's and Reflex's Starlette middleware, two mounts) have
                # nothing to do for a websocket, but each would stay suspended in memory for
                # as long as the tab is open (bench/README.md, issue #14 target 5).
                root_path = scope.get("root_path", "")
                await socket_app({**scope, "root_path": root_path + EVENT_PATH}, receive, send)
                return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        if path == UPLOAD_PATH or path.startswith(UPLOAD_PATH + "/"):
            refusal = await self._upload_refusal(scope)
            if refusal is not None:
                await _respond(send, *refusal)
                return
            await self._limited_upload(scope, receive, send)
            return
        await self.app(scope, receive, self._with_headers(send))

    @functools.cached_property
    def _socket_app(self) -> ASGIApp | None:
        """Reflex's socket app, found on the first socket (the routes exist by then)."""
        return mounted_at(self.app, EVENT_PATH)

    # --- origins ---------------------------------------------------------------------------

    def _origin_ok(self, headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self.origins or "*" in self.origins:
            return True
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        host = headers.get("host", "").lower()
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host

    # --- Reflex's upload route ----------------------------------------------------------------

    async def _upload_refusal(self, scope: Scope) -> tuple[int, bytes] | None:
        headers = Headers(scope=scope)
        if scope["method"] != "POST" or scope["path"] != UPLOAD_PATH:
            return _json(404, "not found", "not_found")
        site = headers.get("sec-fetch-site")
        if (site is not None and site not in ("same-origin", "none")) or (
            headers.get("origin") is not None and not self._origin_ok(headers)
        ):
            return _json(403, "cross-site upload refused", "csrf")
        if headers.get("reflex-event-handler") not in self.upload_handlers:
            return _json(404, "no such upload handler", "not_found")
        token = cookie_parser(headers.get("cookie", "")).get(ACCESS_TOKEN_COOKIE, "")
        try:
            await aio.call(identity.authenticate_token, token=token)
        except AuthenticationFailed:
            return _json(401, "Unauthorized", "unauthorized")
        except DomainError as exc:  # e.g. Supabase unreachable
            return _json(503, exc.message, exc.code)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_upload_bytes:
            limit_mb = (self.max_upload_bytes - MULTIPART_OVERHEAD) / (1024 * 1024)
            return _json(413, f"files are limited to {limit_mb:g} MB", "too_large")
        return None

    async def _limited_upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the upload, but stop reading a body that passes the limit although its length
        was not declared (chunked): 413 if nothing was answered yet, else the connection is
        dropped. Either way Reflex's handler never sees the file."""
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_upload_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, self._with_headers(tracking_send))
        except _TooLarge:
            if started:
                raise
            limit_mb = (self.max_upload_bytes - MULTIPART_OVERHEAD) / (1024 * 1024)
            await _respond(send, *_json(413, f"files are limited to {limit_mb:g} MB", "too_large"))

    # --- response headers ---------------------------------------------------------------------

    def _with_headers(self, send: Send) -> Send:
        start: Message | None = None
        body = bytearray()

        async def guarded_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers += SECURITY_HEADERS
                message = {**message, "headers": headers}
                if _is_html(headers):
                    start = message  # held until the body is known (its scripts get hashed)
                    return
                await send(message)
                return
            if start is not None and message["type"] == "http.response.pathsend":
                # The server sends the file itself (granian's zero-copy extension): read the
                # page off the event loop to hash its scripts, then let the server send it.
                page = await aio.call(Path(message["path"]).read_bytes)
                await send(self._html_start(start, page, keep_length=True))
                start = None
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False) and len(body) <= _MAX_HTML_TO_HASH:
                return
            await send(self._html_start(start, bytes(body)))
            start = None
            await send({**message, "body": bytes(body)})

        return guarded_send

    def _html_start(self, start: Message, body: bytes, *, keep_length: bool = False) -> Message:
        hashes = [
            b64encode(hashlib.sha256(m.group(1)).digest()).decode()
            for m in _INLINE_SCRIPT.finditer(_decoded(start["headers"], body))
        ]
        csp = content_security_policy(hashes, self.img_src).encode()
        if keep_length:
            return {**start, "headers": [*start["headers"], (b"content-security-policy", csp)]}
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers += [
            (b"content-security-policy", csp),
            (b"content-length", str(len(body)).encode()),
        ]
        return {**start, "headers": headers}


def _decoded(headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """The page's text (Reflex serves pages pre-compressed with gzip when the browser
    accepts it)."""
    encoding = next((v for k, v in headers if k.lower() == b"content-encoding"), b"")
    if encoding.strip().lower() != b"gzip":
        return body
    try:
        return zlib.decompress(body, wbits=16 + zlib.MAX_WBITS)
    except zlib.error:
        return b""


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.lower().startswith(b"text/html")
    return False


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
