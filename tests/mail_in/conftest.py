"""The inbound listener started for real on a free port, on the test's event loop, against the
`db` fixture (SQLite and PostgreSQL); replies are sent with a real SMTP client (aiosmtplib)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.mail import inbound
from arbibase_chat.services import accounts, email_tokens
from tests import factories

DOMAIN = "reply.arbibase.test"
MAX_BYTES = 64 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token_for(
    db: Engine, user_id: uuid.UUID, thread_id: uuid.UUID, *, now: datetime | None = None
) -> str:
    # What the outbound dispatcher does in its own (elevated) transaction.
    with dbmod.write_session(db) as session:
        return email_tokens.issue_in(session, user_id=user_id, thread_id=thread_id, now=now)


def reply_address(token: str, domain: str = DOMAIN) -> str:
    return f"reply+{token}@{domain}"


def reply(
    *,
    sender: str,
    to: str,
    text: str | None = None,
    html: str | None = None,
    message_id: str | None = "new",
    **headers: str,
) -> EmailMessage:
    """An e-mail as a mail client writes it: text and/or HTML, a Message-ID unless None."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Re: Lease offer"
    if message_id == "new":
        message_id = make_msgid(domain="mail.example.com")
    if message_id is not None:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message


@dataclass
class Outcome:
    """Where the SMTP conversation ended: the stage ("rcpt", "data", "mail") and the reply."""

    stage: str
    code: int
    text: str


@dataclass
class Listener:
    host: str
    port: int
    domain: str = DOMAIN

    async def send(
        self,
        message: EmailMessage,
        *,
        rcpt: list[str] | None = None,
        mail_from: str | None = None,
        mail_options: list[str] | None = None,
    ) -> Outcome:
        """One message over a fresh connection, command by command, so a refusal at RCPT
        and one after DATA are told apart. `mail_from=""`: the null sender `<>`."""
        recipients = rcpt or [str(message["To"])]
        envelope_from = (
            str(message["From"]).rpartition("<")[2].rstrip(">") if mail_from is None else mail_from
        )
        raw = message.as_bytes()
        client = aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=30, start_tls=False)
        await client.connect()
        try:
            try:
                await client.mail(envelope_from, options=mail_options)
            except aiosmtplib.SMTPResponseException as exc:
                return Outcome("mail", exc.code, exc.message)
            for to in recipients:
                try:
                    await client.rcpt(to)
                except aiosmtplib.SMTPResponseException as exc:
                    return Outcome("rcpt", exc.code, exc.message)
            try:
                response = await client.data(raw)
            except aiosmtplib.SMTPResponseException as exc:
                return Outcome("data", exc.code, exc.message)
            return Outcome("data", response.code, response.message)
        finally:
            client.close()


@pytest.fixture
async def listener(db: Engine) -> AsyncIterator[Listener]:
    settings = get_settings().model_copy(
        update={"email_reply_domain": DOMAIN, "inbound_max_message_bytes": MAX_BYTES}
    )
    port = free_port()
    server = await inbound.start_listener(host="127.0.0.1", port=port, settings=settings, db=db)
    try:
        yield Listener(host="127.0.0.1", port=port)
    finally:
        await inbound.stop_listener(server)


def premium_pair(db: Engine, *, owner_verified: bool = True) -> factories.Pair:
    pair = factories.Pair(db, owner_verified=owner_verified)
    accounts.set_tier(email=pair.operator.email, tier="premium", db=db)
    return pair
