"""The inbound SMTP listener for replies by e-mail (issue #12): aiosmtpd on the app's loop.

A notification's `Reply-To` is `reply+<token>@EMAIL_REPLY_DOMAIN`; the mail exchanger of that
domain relays replies here (the listener speaks plain SMTP on INBOUND_SMTP_HOST, 127.0.0.1 by
default: TLS, SPF and DKIM are the MX's job). The conversation, per message:

- `RCPT TO`: only `reply+<token>@EMAIL_REPLY_DOMAIN` (domain and prefix in any case) with a
  token that resolves, else `550 5.1.1`; one recipient per message (`452 4.5.3` for more).
- `DATA`: more than INBOUND_MAX_MESSAGE_BYTES is `552 5.3.4`; an automatic reply
  (`Auto-Submitted`, `X-Autoreply`, `Precedence: bulk`, a null sender) `550 5.7.1`. The text
  part (or the HTML part as text when there is no text one) goes to
  `services/email_replies.post_reply`, which limits the sender, checks the From, cuts the
  quote and the signature and posts as the token's user; its refusals come back as SMTP
  replies in its words (`451 4.7.1` over the rate limit, `550 5.7.1` for a sender that does
  not match or a rule of the thread, `550 5.6.0` for an empty or too long reply). Success is
  `250 2.0.0 Message accepted`. Anything unexpected is logged and answered `451 4.3.0` (the
  sender's server retries; the post is idempotent on the Message-ID), never a traceback.

Services are synchronous: every call goes through `aio.call` (the post through `aio.sends`,
the worker's bound on sends in flight), off the event loop.

Where it runs: in every app worker when INBOUND_SMTP_PORT is set (`lifespan`, a Reflex
lifespan task; SO_REUSEPORT lets several workers share the port), or alone with
`python -m arbibase_chat.cli mail-in`. A post made here reaches browsers like any other: in
the app process through the worker's hub; from the separate process only through PostgreSQL's
NOTIFY triggers, or on SQLite through Redis (`bridge_events_to_redis`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.config import Settings, get_settings
from arbibase_chat.services import email_replies, email_tokens, events
from arbibase_chat.services.errors import (
    Busy,
    DomainError,
    EmptyReply,
    Invalid,
    RateLimited,
    SenderMismatch,
    Unavailable,
    UnknownReplyAddress,
)

log = logging.getLogger(__name__)

LOCAL_PREFIX = "reply+"
IDENT = "ArbiBase Chat replies"

ACCEPTED = "250 2.0.0 Message accepted"
ONE_RECIPIENT = "452 4.5.3 Too many recipients: send the reply to one reply address only"
NO_SUCH_ADDRESS = "550 5.1.1 No such reply address: reply to the address of a notification"
UNKNOWN_TOKEN = "550 5.1.1 This reply address is unknown or has expired; reply in the app"
AUTOMATIC = "550 5.7.1 Automatic replies are not posted in the conversation"
TOO_BIG = "552 5.3.4 Message too big: replies may be at most {limit} bytes"
TRY_LATER = "451 4.3.0 Temporary failure; try again later"


def reply_token(address: str, domain: str) -> str | None:
    """The token of `reply+<token>@<domain>` (case-insensitive), or None for any other
    address or a token that cannot be one."""
    local, at, host = address.strip().strip("<>").rpartition("@")
    if not at or host.lower().rstrip(".") != domain.lower().rstrip("."):
        return None
    local = local.lower()
    if not local.startswith(LOCAL_PREFIX):
        return None
    token = local[len(LOCAL_PREFIX) :]
    return token if email_tokens.TOKEN_RE.fullmatch(token) else None


def _status_text(message: str) -> str:
    """A service's message as the text of an SMTP reply: one line of ASCII."""
    flat = " ".join(message.split())
    return flat.encode("ascii", "replace").decode("ascii")


def refusal(exc: DomainError) -> str:
    """The SMTP reply for a refused post: a code the sender's server understands (permanent
    unless waiting helps) and the service's own words."""
    text = _status_text(exc.message)
    if isinstance(exc, RateLimited):
        return f"451 4.7.1 {text}; try again later"
    if isinstance(exc, Busy | Unavailable):
        return f"451 4.3.0 {text}"
    if isinstance(exc, UnknownReplyAddress):
        return f"550 5.1.1 {text}"
    if isinstance(exc, EmptyReply) or (isinstance(exc, Invalid) and exc.field == "body"):
        return f"550 5.6.0 {text}"
    if isinstance(exc, SenderMismatch):
        return f"550 5.7.1 {text}"
    # The thread's rules: closed, not on the plan, an owner not yet verified, not found.
    return f"550 5.7.1 Reply not posted: {text}"


def is_automatic(message: Message, mail_from: str | None) -> bool:
    """An out-of-office or other automatic reply (RFC 3834), never to be posted as the user's
    own words. `mail_from`: the envelope sender ("" for the null sender `<>`)."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto not in ("", "no")
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or mail_from in (None, "", "<>")
    )


# --- the text of an e-mail -------------------------------------------------------------------

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"blockquote", "pre", "hr", "section", "article", "header", "footer"}
)
_HIDDEN = frozenset({"head", "script", "style", "title", "template"})
# The reply (at most 10,000 characters of text) comes first; the rest is the quoted history,
# which the pure-Python HTML parser would take seconds over (measured: 4.5 MB, 1.9 s).
MAX_HTML_CHARS = 1_000_000


class _HtmlText(HTMLParser):
    """An HTML body as plain text: blocks on lines of their own, `<blockquote>` content as
    "> " lines (so the quote is cut like a plain-text one), nothing hidden."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._quote = 0
        self._hidden = 0
        self._pre = 0

    def _break(self, *, blank: bool = False) -> None:
        """End the line being written; `blank`: also leave one empty line (a paragraph's
        end, a second <br>) unless there is one already."""
        text = "".join(self._line)
        if not self._pre:
            text = " ".join(text.split())
        self._line = []
        if text:
            self.lines.append(("> " * self._quote) + text)
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")

    def _second_br(self, tag: str) -> bool:
        return tag == "br" and not "".join(self._line).strip()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self._break(blank=self._second_br(tag))
            if tag == "blockquote":
                self._quote += 1
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._line.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._break(blank=self._second_br(tag))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self._break(blank=tag == "p")
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._line.append(data.replace("\xa0", " "))

    def text(self) -> str:
        self.close()
        self._break()
        return "\n".join(self.lines).strip()


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    return parser.text()


def _content(part: Message) -> str:
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError):
        # An unknown charset or a broken transfer encoding: the bytes as UTF-8, best effort.
        raw = part.get_payload(decode=True)
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""


def body_text(message: EmailMessage) -> str:
    """The reply's text: the text/plain body, else the text/html one as text; "" if neither."""
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        return _content(plain)
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        return html_to_text(_content(html)[:MAX_HTML_CHARS])
    return ""


@dataclass(frozen=True)
class Reply:
    """What the service needs of an e-mail."""

    from_header: str  # every From header, joined: two of them are refused as "a, b"
    message_id: str | None
    text: str


def read_email(content: bytes, mail_from: str | None) -> Reply | None:
    """The e-mail's sender, Message-ID and text; None for an automatic reply."""
    message = email.message_from_bytes(content, policy=email_policy.default)
    assert isinstance(message, EmailMessage)  # policy.default builds EmailMessage
    if is_automatic(message, mail_from):
        return None
    return Reply(
        from_header=", ".join(str(s) for s in message.get_all("From") or []),
        message_id=str(message.get("Message-ID") or "").strip() or None,
        text=body_text(message),
    )


# --- the SMTP conversation -------------------------------------------------------------------


class ReplyHandler:
    """aiosmtpd handler: accepts replies to reply addresses and posts them (see the module)."""

    def __init__(self, *, domain: str, max_bytes: int, db: Engine | None = None) -> None:
        self.domain = domain
        self.max_bytes = max_bytes
        self.db = db

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if envelope.rcpt_tos:
            return ONE_RECIPIENT
        token = reply_token(address, self.domain)
        if token is None:
            return NO_SUCH_ADDRESS
        owner = await aio.call(email_tokens.resolve, token=token, db=self.db)
        if owner is None:
            return UNKNOWN_TOKEN
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            return await self._post(envelope)
        except Exception:
            log.exception("inbound reply from %r failed", session.peer)
            return TRY_LATER

    async def _post(self, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if len(content) > self.max_bytes:
            return TOO_BIG.format(limit=self.max_bytes)
        token = reply_token(envelope.rcpt_tos[0], self.domain)
        if token is None:  # RCPT accepted it: only a domain changed under us gets here
            return NO_SUCH_ADDRESS
        # Parsing megabytes of MIME and HTML is CPU work: on a thread, never on the loop.
        read = await aio.call(read_email, content=content, mail_from=envelope.mail_from)
        if read is None:
            return AUTOMATIC
        try:
            # The worker's bound on sends in flight, as for the app's own sends: past it the
            # sender's server is told to retry (Busy: 451) instead of queueing here.
            posted = await aio.sends.call(
                email_replies.post_reply,
                token=token,
                from_address=read.from_header,
                message_id=read.message_id,
                text=read.text,
                db=self.db,
            )
        except DomainError as exc:
            log.info("inbound reply refused (%s): %s", exc.code, exc.message)
            return refusal(exc)
        log.info("inbound reply posted: message %s in thread %s", posted.id, posted.thread_id)
        return ACCEPTED

    async def handle_exception(self, error: Exception) -> str:
        log.error("inbound SMTP session error", exc_info=error)
        return TRY_LATER


class ReplySMTP(SMTP):
    """aiosmtpd's SMTP with its size refusals in enhanced-status form (RFC 3463)."""

    def __init__(self, handler: ReplyHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._too_big = TOO_BIG.format(limit=handler.max_bytes)

    async def push(self, status: AnyStr) -> None:
        # aiosmtpd words these itself ("552 Error: Too much mail data", and for MAIL FROM's
        # SIZE= "552 Error: message size exceeds ..."); it still drains the data first.
        if isinstance(status, str) and status.startswith("552 Error"):
            status = self._too_big
        await super().push(status)


def _protocol_factory(handler: ReplyHandler, hostname: str) -> Callable[[], ReplySMTP]:
    def factory() -> ReplySMTP:
        return ReplySMTP(
            handler,
            # aiosmtpd counts the data as it arrives and stops keeping it past the limit.
            data_size_limit=handler.max_bytes,
            hostname=hostname,  # not socket.getfqdn(): no DNS lookup per connection
            ident=IDENT,
            enable_SMTPUTF8=True,
            timeout=60,
        )

    return factory


async def start_listener(
    *,
    host: str | None = None,
    port: int | None = None,
    settings: Settings | None = None,
    db: Engine | None = None,
) -> asyncio.Server:
    """Listen on the running loop; `stop_listener` ends it. Host and port default to the
    settings (INBOUND_SMTP_HOST / INBOUND_SMTP_PORT); EMAIL_REPLY_DOMAIN must be set."""
    settings = settings or get_settings()
    domain = settings.email_reply_domain
    if not domain:
        raise RuntimeError("EMAIL_REPLY_DOMAIN is not set: no reply address could reach us")
    bind_port = settings.inbound_smtp_port if port is None else port
    if bind_port is None:
        raise RuntimeError("INBOUND_SMTP_PORT is not set")
    handler = ReplyHandler(domain=domain, max_bytes=settings.inbound_max_message_bytes, db=db)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        _protocol_factory(handler, domain),
        host=host or settings.inbound_smtp_host,
        port=bind_port,
        # Several workers of one app each run a listener on the same port (Linux spreads
        # the connections); elsewhere only the first worker binds.
        reuse_port=hasattr(socket, "SO_REUSEPORT") or None,
    )
    where = ", ".join(str(s.getsockname()) for s in server.sockets)
    log.info("inbound SMTP listener for replies to *@%s on %s", domain, where)
    return server


async def stop_listener(server: asyncio.Server) -> None:
    server.close()
    # Open SMTP sessions end with their connections (aiosmtpd's timeout bounds them).
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(server.wait_closed(), timeout=5)


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Lifespan task: the listener in this worker while it serves, when INBOUND_SMTP_PORT is
    set. A listener that cannot start is logged; the app serves on without it."""
    settings = get_settings()
    server = None
    if settings.inbound_smtp_port is not None:
        try:
            server = await start_listener(settings=settings)
        except (OSError, RuntimeError):
            log.exception("inbound SMTP listener not started")
    try:
        yield
    finally:
        if server is not None:
            await stop_listener(server)


def bridge_events_to_redis(settings: Settings, engine: Engine) -> Callable[[], None]:
    """For a process with no realtime hub (`cli mail-in`): on SQLite with REDIS_URL, hand the
    services' committed events to the workers' Redis channel, as a worker's hub would, so the
    reply shows live. On PostgreSQL the NOTIFY triggers carry them already; with neither,
    browsers see the reply at their next load. Returns the unsubscribe."""
    if not settings.redis_url or engine.dialect.name == "postgresql":
        return lambda: None
    import redis

    from arbibase_chat.realtime.bus import encode

    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
    )
    channel = settings.realtime_channel

    def publish(event: events.DomainEvent) -> None:
        # Runs on the thread that committed (an aio.call thread): blocking here is fine.
        try:
            client.publish(channel, encode(event))
        except redis.RedisError as exc:
            log.warning("inbound replies: event not published to Redis (%s)", exc)

    unsubscribe = events.subscribe(publish)

    def stop() -> None:
        unsubscribe()
        client.close()

    return stop


async def serve_forever(*, host: str | None = None, port: int | None = None) -> None:
    """`cli mail-in`: the listener in the foreground until Ctrl-C or SIGTERM (a clean stop)."""
    from arbibase_chat.db import get_engine

    settings = get_settings()
    stop_bridge = bridge_events_to_redis(settings, get_engine())
    server = await start_listener(host=host, port=port, settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Our own handlers: a process started in the background inherits SIGINT ignored (and
    # Python then never raises KeyboardInterrupt); a supervisor stops it with SIGTERM.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on this platform
            loop.add_signal_handler(signum, stop.set)
    try:
        for sock in server.sockets:
            print(
                f"listening for replies to reply+<token>@{settings.email_reply_domain} on "
                f"{sock.getsockname()}",
                flush=True,
            )
        await stop.wait()
    finally:
        await stop_listener(server)
        stop_bridge()
