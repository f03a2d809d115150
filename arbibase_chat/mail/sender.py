"""Hand an e-mail to SMTP, or, with no SMTP_HOST (`make run`), write it under MAIL_DIR.

SMTP is aiosmtplib on the event loop (network I/O, no thread): SMTP_HOST / SMTP_PORT, login
with SMTP_USERNAME / SMTP_PASSWORD when set, STARTTLS per SMTP_STARTTLS (unset: when the
server offers it; true: required; false: never), implicit TLS on port 465, every step bounded
by SMTP_TIMEOUT_SECONDS. The envelope goes to the recipient alone, whatever the headers say.

Without SMTP the e-mail is written as `<MAIL_DIR>/<UTC timestamp>-<outbox id>.eml` (through
`aio.call`: the file write never blocks the loop) and its path logged, so a developer opens
it in any mail reader.
"""

from __future__ import annotations

import logging
import uuid
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib

from arbibase_chat import aio
from arbibase_chat.config import Settings, get_settings
from arbibase_chat.db import utcnow

log = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465


class SendFailed(Exception):
    """The e-mail was not handed over; the message says why (kept in the outbox's note)."""


def _envelope_sender(message: EmailMessage, settings: Settings) -> str:
    addr = parseaddr(settings.smtp_from or "")[1] or parseaddr(str(message["From"]))[1]
    return addr


def _write_eml(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # a reader never sees half a file
    return path


async def send(
    message: EmailMessage,
    *,
    recipient: str,
    outbox_id: uuid.UUID,
    settings: Settings | None = None,
) -> str:
    """Send (or write) one e-mail. Returns where it went: "smtp:<host>" or the .eml path."""
    settings = settings or get_settings()
    if not settings.smtp_host:
        name = f"{utcnow().strftime('%Y%m%dT%H%M%S.%fZ')}-{outbox_id}.eml"
        path = await aio.call(
            _write_eml, directory=settings.mail_dir, name=name, data=message.as_bytes()
        )
        log.info("e-mail to %s written to %s (SMTP_HOST is not set)", recipient, path)
        return str(path)
    implicit_tls = settings.smtp_port == IMPLICIT_TLS_PORT and settings.smtp_starttls is not True
    try:
        await aiosmtplib.send(
            message,
            sender=_envelope_sender(message, settings),
            recipients=[recipient],
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    return f"smtp:{settings.smtp_host}"
