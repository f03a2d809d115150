"""The password-reset e-mail (issue #13): composed, and sent off the request.

`request` is what the forgot-password page and the API call: the service decides (and rate
limits), and when it hands back an e-mail it is sent in a task of its own, so the answer
takes the same time whether or not the address has an account (SMTP can take seconds). A
failed send is logged; the person asks again.

Without SMTP_HOST (`make run`) the e-mail goes to MAIL_DIR like every other (`sender.py`),
and the link itself is printed to the log, on the `DEV_LINK_LOGGER` logger, which the log
redaction lets through (log_redaction.py): a developer resets a password without a mail
reader. With SMTP the link is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from sqlalchemy.engine import Engine

from arbibase_chat import aio, routes
from arbibase_chat.config import Settings, get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.mail import compose, sender
from arbibase_chat.services import password_resets
from arbibase_chat.services.password_resets import ResetMail

log = logging.getLogger(__name__)
DEV_LINK_LOGGER = "arbibase_chat.dev_mail_link"
dev_log = logging.getLogger(DEV_LINK_LOGGER)
SUBJECT = "Reset your ArbiBase password"

# Sends in flight (a task with no reference may be collected before it ends).
_tasks: set[asyncio.Task[None]] = set()


def link(mail: ResetMail, settings: Settings) -> str:
    return settings.public_url.rstrip("/") + routes.reset_link(mail.token)


def _minutes(mail: ResetMail, now: datetime) -> int:
    return max(1, round((mail.expires_at - now).total_seconds() / 60))


def _plain(mail: ResetMail, url: str, minutes: int) -> str:
    return (
        f"Hi {mail.display_name},\n\n"
        "Someone (hopefully you) asked to reset the password of your ArbiBase account.\n\n"
        f"Choose a new password: {url}\n\n"
        f"The link works once, for {minutes} minutes. If you did not ask, ignore this "
        "e-mail: your password stays as it is.\n"
    )


def _html(mail: ResetMail, url: str, minutes: int) -> str:
    esc = compose._esc
    return "\n".join(
        [
            '<div style="font-family:system-ui,sans-serif;font-size:15px;color:#0f172a;'
            'max-width:600px">',
            f"<p>Hi {esc(mail.display_name)},</p>",
            "<p>Someone (hopefully you) asked to reset the password of your ArbiBase account.</p>",
            f"<p>{compose._link(url, 'Choose a new password', button=True)}</p>",
            f'<p style="color:#64748b;font-size:13px">Or open this address: {esc(url)}</p>',
            f"<p>The link works once, for {minutes} minutes. If you did not ask, ignore this "
            "e-mail: your password stays as it is.</p>",
            "</div>",
        ]
    )


def compose_reset(
    mail: ResetMail, *, settings: Settings | None = None, now: datetime | None = None
) -> EmailMessage:
    settings = settings or get_settings()
    now = now or utcnow()
    url = link(mail, settings)
    minutes = _minutes(mail, now)
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(
        display_name=compose.APP_NAME, addr_spec=compose._from_address(settings)
    )
    message["To"] = Address(
        display_name=compose.display_name(mail.display_name), addr_spec=mail.email
    )
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<reset-{uuid.uuid4()}@{compose.mail_domain(settings)}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(_plain(mail, url, minutes))
    message.add_alternative(_html(mail, url, minutes), subtype="html")
    return message


async def deliver(mail: ResetMail, *, settings: Settings | None = None) -> str:
    """Send (or, without SMTP, write and log) one reset e-mail; where it went."""
    settings = settings or get_settings()
    where = await sender.send(
        compose_reset(mail, settings=settings),
        recipient=mail.email,
        outbox_id=uuid.uuid4(),
        settings=settings,
    )
    if not settings.smtp_host:
        # A warning: the app sets up no logging of its own, so INFO would go nowhere under
        # `make run` (Python prints warnings to stderr when nothing else is configured).
        dev_log.warning(
            "password reset link for %s (SMTP_HOST is not set, nothing was sent): %s",
            mail.email,
            link(mail, settings),
        )
    return where


async def deliver_logged(mail: ResetMail) -> None:
    """`deliver`, a failure logged (it runs after the answer was given)."""
    try:
        await deliver(mail)
    except Exception:
        log.exception("password reset e-mail to %s not sent", mail.email)


async def request(*, email: object, client: str, db: Engine | None = None) -> None:
    """Ask for a reset link (see the module doc). Invalid / RateLimited / ResetsElsewhere
    reach the caller; whether the account exists does not."""
    mail = await aio.call(password_resets.request_reset, email=email, client=client, db=db)
    if mail is not None:
        task = asyncio.create_task(deliver_logged(mail))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)


async def drain() -> None:
    """Wait for the reset e-mails in flight (tests; shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
