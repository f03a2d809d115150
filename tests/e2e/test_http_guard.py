"""What arbibase_chat/http_guard.py closes on the live server: Reflex's `/_upload` route
(findings 6), the websocket's origin and the pages' browser-side protections (finding 13)."""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
import socketio  # type: ignore[import-untyped]
from playwright.sync_api import Browser

from arbibase_chat.config import ACCESS_TOKEN_COOKIE
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.seed import DEMO_PASSWORD
from tests.e2e.helpers import log_in, open_thread, send
from tests.e2e.rawsocket import RawTab

UPLOAD_HANDLER = f"{ChatState.get_full_name()}.upload"
LIMIT = 25 * 1024 * 1024


def _token(base: str, email: str = "ben@demo.arbibase.test") -> str:
    response = httpx.post(
        f"{base}/api/auth/login", json={"email": email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _raw_request(base: str, head: str, body: bytes = b"", timeout: float = 10.0) -> str:
    """Send a request by hand (a declared length need not be followed by the body) and
    return the status line and headers the server answers with."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


def _upload_head(base: str, *, length: int, cookie: str = "", extra: str = "") -> str:
    host = urlsplit(base).netloc
    lines = [
        "POST /_upload HTTP/1.1",
        f"Host: {host}",
        "Content-Type: multipart/form-data; boundary=x",
        f"Content-Length: {length}",
        "Reflex-Client-Token: 0b7b1c7e-6c3f-4a53-9f62-2f7f5d6f0c11",
        f"Reflex-Event-Handler: {UPLOAD_HANDLER}",
    ]
    if cookie:
        lines.append(f"Cookie: {ACCESS_TOKEN_COOKIE}={cookie}")
    if extra:
        lines.append(extra)
    return "\r\n".join(lines) + "\r\n"


def test_upload_route_needs_a_signed_in_user(live_server: str) -> None:
    # A gigabyte declared, no cookie: refused at once, before a byte of the body is sent.
    started = time.monotonic()
    answer = _raw_request(live_server, _upload_head(live_server, length=1_000_000_000))
    assert answer.startswith("HTTP/1.1 401"), answer[:200]
    assert time.monotonic() - started < 5
    answer = _raw_request(
        live_server, _upload_head(live_server, length=10, cookie="garbage"), b"0123456789"
    )
    assert answer.startswith("HTTP/1.1 401"), answer[:200]


def test_upload_route_refuses_past_the_limit_before_reading(live_server: str) -> None:
    token = _token(live_server)
    started = time.monotonic()
    answer = _raw_request(
        live_server, _upload_head(live_server, length=1_000_000_000, cookie=token)
    )
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5


def test_upload_route_stops_reading_an_undeclared_oversized_body(live_server: str) -> None:
    """Chunked transfer declares no length: the guard stops reading past the limit."""
    token = _token(live_server)

    def chunks():
        piece = b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n\r\n'
        yield piece
        block = b"%PDF" + b"0" * (1024 * 1024 - 4)
        for _ in range(LIMIT // len(block) + 8):
            yield block

    try:
        response = httpx.post(
            f"{live_server}/_upload",
            content=chunks(),
            headers={
                "Cookie": f"{ACCESS_TOKEN_COOKIE}={token}",
                "Reflex-Client-Token": "0b7b1c7e-6c3f-4a53-9f62-2f7f5d6f0c11",
                "Reflex-Event-Handler": UPLOAD_HANDLER,
                "Content-Type": "multipart/form-data; boundary=x",
            },
            timeout=30,
        )
    except httpx.TransportError:
        return  # the server hung up mid-body: nothing was kept
    assert response.status_code >= 400


@pytest.mark.parametrize(
    ("extra", "handler", "status"),
    [
        ("Origin: https://evil.example", UPLOAD_HANDLER, 403),
        ("Sec-Fetch-Site: cross-site", UPLOAD_HANDLER, 403),
        ("", f"{ChatState.get_full_name()}.send", 404),
    ],
)
def test_upload_route_refuses_cross_site_and_other_handlers(
    live_server: str, extra: str, handler: str, status: int
) -> None:
    token = _token(live_server)
    head = _upload_head(live_server, length=4, cookie=token, extra=extra).replace(
        UPLOAD_HANDLER, handler
    )
    answer = _raw_request(live_server, head, b"abcd")
    assert answer.startswith(f"HTTP/1.1 {status}"), answer[:200]


def test_reflex_upload_folder_serves_nothing(live_server: str) -> None:
    assert httpx.get(f"{live_server}/_upload/anything.pdf").status_code == 404


async def test_websocket_refuses_other_origins(live_server: str) -> None:
    tab = RawTab(live_server, path="/login")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await tab.connect(origin="https://evil.example", timeout=5)
    await tab.close()
    ok = RawTab(live_server, path="/login")
    await ok.connect()  # the app's own origin
    await ok.close()


async def test_the_socket_declines_compression_and_works(live_server: str) -> None:
    """A browser offers permessage-deflate; accepted, it would hold a zlib pair per open tab
    on the server (arbibase_chat/server_worker.py). The socket answers without it."""
    import aiohttp

    url = live_server + "/_event/?EIO=4&transport=websocket"
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, compress=15, timeout=aiohttp.ClientWSTimeout(ws_receive=10)) as ws,
    ):
        assert "sec-websocket-extensions" not in {k.lower() for k in ws._response.headers}
        assert ws.compress == 0
        opened = await ws.receive_str(timeout=10)  # engine.io's open packet
        assert opened.startswith("0{") and '"sid"' in opened


def test_pages_carry_the_browser_protections(live_server: str) -> None:
    for path in ("/login/", "/inbox/"):
        for encoding in ("identity", "gzip"):
            response = httpx.get(live_server + path, headers={"Accept-Encoding": encoding})
            assert response.status_code == 200
            headers = response.headers
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
            assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
            # Every inline script of the page, and nothing else, is allowed by its hash.
            inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text)
            assert len(re.findall(r"'sha256-", csp)) == len(inline) > 0
    api = httpx.get(f"{live_server}/api/properties")
    assert api.headers["x-content-type-options"] == "nosniff"


def test_the_app_runs_under_its_policy(live_server: str, browser: Browser) -> None:
    """Log in, open a thread, send: no script the policy refused, no violation reported."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    try:
        log_in(page, live_server, "ben@demo.arbibase.test")
        open_thread(page, "Midtown 2BR Loft")
        send(page, "checking the policy")
        page.locator("#message-list .message", has_text="checking the policy").last.wait_for()
        page.wait_for_timeout(500)
        assert violations == []
    finally:
        context.close()
