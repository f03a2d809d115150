"""A real SMTP server (aiosmtpd) on a free port, and the settings pointed at it.

Every test here runs on SQLite and PostgreSQL (the `db` fixture). E-mails are due at once
(EMAIL_NOTIFY_DELAY_SECONDS=0) unless a test sets the delay itself.
"""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from arbibase_chat.config import get_settings
from arbibase_chat.services import accounts
from tests import factories

PUBLIC_URL = "https://chat.arbibase.test"
REPLY_DOMAIN = "reply.arbibase.test"
FROM = "ArbiBase Chat <notify@arbibase.test>"


class Collector:
    """aiosmtpd handler: keeps every envelope; `refuse` answers DATA with an error instead."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse: str | None = None
        self.port = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return self.refuse
        with self._lock:
            self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            envelopes = list(self.envelopes)
        return [email.message_from_bytes(e.original_content, policy=default) for e in envelopes]

    def recipients(self) -> list[list[str]]:
        with self._lock:
            return [list(e.rcpt_tos) for e in self.envelopes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[Collector]:
    collector = Collector()
    collector.port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=collector.port)
    controller.start()
    try:
        yield collector
    finally:
        controller.stop()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def mail_env(
    monkeypatch: pytest.MonkeyPatch, smtp: Collector, mail_dir: Path
) -> Iterator[Collector]:
    """Settings for the bridge: SMTP at the test server, links to PUBLIC_URL, replies on."""
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_STARTTLS": "false",
        "SMTP_FROM": FROM,
        "SMTP_TIMEOUT_SECONDS": "5",
        "PUBLIC_URL": PUBLIC_URL,
        "EMAIL_REPLY_DOMAIN": REPLY_DOMAIN,
        "EMAIL_NOTIFY_DELAY_SECONDS": "0",
        "EMAIL_MAX_ATTEMPTS": "3",
        "MAIL_DIR": str(mail_dir),
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield smtp
    get_settings.cache_clear()


def premium_pair(db: Engine) -> factories.Pair:
    pair = factories.Pair(db)
    accounts.set_tier(email=pair.operator.email, tier="premium", db=db)
    return pair
