"""One notification e-mail, built from what services/email_outbox.py read for its recipient.

Plain text with an HTML alternative (`email.policy.SMTP`: CRLF line ends, RFC 2047 words for
non-ASCII names). Headers:

- `From`: SMTP_FROM's address with "<sender> via ArbiBase" as its name; `To`: the recipient.
- `Subject`: "<counterparty>: <property title>", the same for every e-mail of the thread (some
  clients thread by subject).
- `Message-ID: <outbox-id@domain>` (a retried row keeps it, so a receiver can drop a copy);
  `In-Reply-To` / `References: <thread-{thread}-{recipient}@domain>`, a root that stays the same
  per thread and recipient, so a mail client shows the e-mails as one conversation.
- `Reply-To: reply+<token>@EMAIL_REPLY_DOMAIN` when that is set (replies become messages).
- `List-Unsubscribe` (the one-click URL) + `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
  (RFC 8058): the mail client's button mutes the thread.
- `Auto-Submitted: auto-generated` (RFC 3834), so auto-responders stay quiet.

Every user-controlled string that goes into a header (names, titles) passes `header_text`
first: no CR, LF or other control or format character survives, so a display name like
"Eve\\r\\nBcc: x@y" cannot add a header. The bodies show user text as text (escaped in HTML).
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from urllib.parse import urlsplit

from arbibase_chat import links, routes
from arbibase_chat.config import Settings, get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.services.email_outbox import Outgoing, ShownMessage, ShownOffer

APP_NAME = "ArbiBase"
MAX_HEADER_CHARS = 120
_DOMAIN = re.compile(r"[^A-Za-z0-9.-]")
ACTION_WORDS = {"accept": "Accept", "decline": "Decline", "counter": "Counter"}


def header_text(value: object, *, limit: int = MAX_HEADER_CHARS) -> str:
    """A user-controlled string made safe for a header: control, format and separator
    characters (CR, LF, NUL, U+2028, bidi overrides, ...) become spaces, runs of space one,
    and it is cut to `limit` characters."""
    text = value if isinstance(value, str) else str(value or "")
    cleaned = "".join(
        " " if unicodedata.category(ch)[0] in "CZ" else ch
        for ch in text.encode("utf-8", "replace").decode("utf-8")
    )
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def display_name(value: object) -> str:
    """A person's name for a From/To phrase: header-safe, without the characters that would
    make a name look like an address."""
    return header_text(re.sub(r'[<>"@]', "", header_text(value))) or "Someone"


def _from_address(settings: Settings) -> str:
    addr = parseaddr(settings.smtp_from or "")[1]
    return addr if "@" in addr else f"notifications@{mail_domain(settings)}"


def mail_domain(settings: Settings | None = None) -> str:
    """The domain of our Message-IDs: SMTP_FROM's, else PUBLIC_URL's host."""
    settings = settings or get_settings()
    addr = parseaddr(settings.smtp_from or "")[1]
    domain = (
        addr.rpartition("@")[2] if "@" in addr else (urlsplit(settings.public_url).hostname or "")
    )
    domain = _DOMAIN.sub("", domain).strip(".")
    return domain or "arbibase.invalid"


def message_id(outgoing: Outgoing, settings: Settings | None = None) -> str:
    return f"<{outgoing.claim.id}@{mail_domain(settings)}>"


def thread_root(outgoing: Outgoing, settings: Settings | None = None) -> str:
    claim = outgoing.claim
    return f"<thread-{claim.thread_id}-{claim.user_id}@{mail_domain(settings)}>"


def _url(settings: Settings, path: str) -> str:
    return settings.public_url.rstrip("/") + path


def subject(outgoing: Outgoing) -> str:
    return header_text(
        f"{display_name(outgoing.counterparty_name)}: {header_text(outgoing.property_title)}",
        limit=150,
    )


def _when(at: datetime) -> str:
    return at.strftime("%b %-d, %H:%M UTC")


def _offer_links(settings: Settings, offer: ShownOffer) -> list[tuple[str, str]]:
    return [
        (ACTION_WORDS[action], _url(settings, routes.offer_page(str(offer.offer_id), action)))
        for action in offer.actions
    ]


def _intro(outgoing: Outgoing) -> str:
    n = outgoing.unread_count
    what = "a new message" if n == 1 else f"{n} new messages"
    return f"{outgoing.counterparty_name} sent you {what} about {outgoing.property_title}."


def _plain(outgoing: Outgoing, settings: Settings) -> str:
    thread_url = _url(settings, routes.thread(str(outgoing.claim.thread_id)))
    lines = [f"Hi {outgoing.recipient_name},", "", _intro(outgoing)]
    if outgoing.property_address:
        lines.append(outgoing.property_address)
    lines.append("")
    earlier = outgoing.unread_count - len(outgoing.messages)
    if earlier > 0:
        lines += [f"(and {earlier} earlier unread message{'s' if earlier > 1 else ''})", ""]
    for message in outgoing.messages:
        lines += [f"{message.sender_name}, {_when(message.created_at)}:", message.text, ""]
    if outgoing.offer is not None:
        offer = outgoing.offer
        lines.append(f"Open offer v{offer.version} from {offer.made_by_name}: {offer.headline}")
        lines += [f"  {label}: {value}" for label, value in offer.rows]
        lines.append(f"  Valid until {_when(offer.expires_at)}")
        lines += [f"  {word}: {url}" for word, url in _offer_links(settings, offer)]
        lines.append("")
    lines.append(f"Open the conversation: {thread_url}")
    if settings.email_reply_domain:
        lines.append(f"Or reply to this e-mail to answer {outgoing.counterparty_name}.")
    lines += ["", "--", *_footer(outgoing, settings)]
    return "\n".join(lines) + "\n"


def _footer(outgoing: Outgoing, settings: Settings) -> list[str]:
    stop = _url(settings, links.email_unsubscribe(outgoing.token))
    return [
        "You get this e-mail because a message waited unread in ArbiBase Chat.",
        f"No more e-mails about this conversation: {stop}",
        f"No notification e-mails at all: {_url(settings, routes.SETTINGS)}",
    ]


def _esc(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _link(url: str, label: str, *, button: bool = False) -> str:
    style = (
        "display:inline-block;padding:8px 14px;margin:4px 6px 4px 0;border-radius:6px;"
        "background:#2563eb;color:#ffffff;text-decoration:none;font-weight:600"
        if button
        else "color:#2563eb"
    )
    return f'<a href="{html.escape(url, quote=True)}" style="{style}">{html.escape(label)}</a>'


def _message_html(message: ShownMessage) -> str:
    return (
        '<div style="margin:0 0 12px;padding:8px 12px;border-left:3px solid #cbd5e1">'
        f'<div style="color:#64748b;font-size:12px">{_esc(message.sender_name)} · '
        f"{_esc(_when(message.created_at))}</div>"
        f'<div style="white-space:pre-wrap">{_esc(message.text)}</div></div>'
    )


def _offer_html(offer: ShownOffer, settings: Settings) -> str:
    rows = "".join(
        f'<tr><td style="color:#64748b;padding-right:12px">{_esc(label)}</td>'
        f"<td>{_esc(value)}</td></tr>"
        for label, value in offer.rows
    )
    buttons = "".join(_link(url, word, button=True) for word, url in _offer_links(settings, offer))
    return (
        '<div style="margin:16px 0;padding:12px;border:1px solid #e2e8f0;border-radius:8px">'
        f"<div><strong>Open offer v{offer.version}</strong> from {_esc(offer.made_by_name)}</div>"
        f'<div style="font-size:18px;font-weight:700;margin:6px 0">{_esc(offer.headline)}</div>'
        f'<table style="font-size:14px">{rows}</table>'
        f'<div style="color:#64748b;font-size:12px;margin-top:6px">Valid until '
        f"{_esc(_when(offer.expires_at))}</div>"
        f'<div style="margin-top:8px">{buttons}</div></div>'
    )


def _html(outgoing: Outgoing, settings: Settings) -> str:
    thread_url = _url(settings, routes.thread(str(outgoing.claim.thread_id)))
    parts = [
        '<div style="font-family:system-ui,sans-serif;font-size:15px;color:#0f172a;'
        'max-width:600px">',
        f"<p>Hi {_esc(outgoing.recipient_name)},</p>",
        f"<p>{_esc(_intro(outgoing))}",
    ]
    if outgoing.property_address:
        parts.append(f'<br><span style="color:#64748b">{_esc(outgoing.property_address)}</span>')
    parts.append("</p>")
    earlier = outgoing.unread_count - len(outgoing.messages)
    if earlier > 0:
        s = "s" if earlier > 1 else ""
        parts.append(f'<p style="color:#64748b">(and {earlier} earlier unread message{s})</p>')
    parts += [_message_html(m) for m in outgoing.messages]
    if outgoing.offer is not None:
        parts.append(_offer_html(outgoing.offer, settings))
    parts.append(f"<p>{_link(thread_url, 'Open the conversation', button=True)}</p>")
    if settings.email_reply_domain:
        parts.append(
            f"<p>Or reply to this e-mail to answer {_esc(outgoing.counterparty_name)}.</p>"
        )
    footer = _footer(outgoing, settings)
    stop = _url(settings, links.email_unsubscribe(outgoing.token))
    parts += [
        '<hr style="border:none;border-top:1px solid #e2e8f0">',
        f'<p style="color:#64748b;font-size:12px">{_esc(footer[0])}<br>'
        f"{_link(stop, 'No more e-mails about this conversation')} · "
        f"{_link(_url(settings, routes.SETTINGS), 'No notification e-mails at all')}</p>",
        "</div>",
    ]
    return "\n".join(parts)


def compose(
    outgoing: Outgoing, *, settings: Settings | None = None, now: datetime | None = None
) -> EmailMessage:
    settings = settings or get_settings()
    message = EmailMessage(policy=SMTP)
    sender = display_name(outgoing.counterparty_name)
    message["From"] = Address(
        display_name=header_text(f"{sender} via {APP_NAME}"), addr_spec=_from_address(settings)
    )
    message["To"] = Address(
        display_name=display_name(outgoing.recipient_name), addr_spec=outgoing.recipient_email
    )
    message["Subject"] = subject(outgoing)
    message["Date"] = format_datetime(now or utcnow())
    message["Message-ID"] = message_id(outgoing, settings)
    root = thread_root(outgoing, settings)
    message["In-Reply-To"] = root
    message["References"] = root
    if settings.email_reply_domain:
        domain = _DOMAIN.sub("", settings.email_reply_domain)
        message["Reply-To"] = f"reply+{outgoing.token}@{domain}"
    message["List-Unsubscribe"] = f"<{_url(settings, links.email_unsubscribe(outgoing.token))}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(_plain(outgoing, settings))
    message.add_alternative(_html(outgoing, settings), subtype="html")
    return message
