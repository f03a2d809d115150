"""The password-reset e-mail (issue #13) through a real SMTP server (aiosmtpd), and written to
MAIL_DIR with the link in the log when there is no SMTP; the link that arrives works. SQLite
and PostgreSQL."""

from __future__ import annotations

import email
import logging
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from arbibase_chat.config import get_settings
from arbibase_chat.mail import password_reset
from arbibase_chat.services import accounts, password_resets
from arbibase_chat.services.errors import AuthenticationFailed
from tests import factories
from tests.factories import PASSWORD
from tests.mail.conftest import PUBLIC_URL, Collector

CLIENT = "198.51.100.9"
NEW = "the new passphrase 42"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/reset\?token=([0-9a-f]{64})")


def _part(mail: EmailMessage, subtype: str) -> str:
    part = mail.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


async def _ask(db, address: str) -> None:
    await password_reset.request(email=address, client=CLIENT, db=db)
    await password_reset.drain()


async def test_the_link_arrives_by_smtp_and_works(
    db, mail_env: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    user = factories.user(db, name="Dana Reset")
    with caplog.at_level(logging.INFO):
        await _ask(db, user.email)
    [mail] = mail_env.messages()
    assert mail_env.recipients() == [[user.email]]
    assert mail["Subject"] == password_reset.SUBJECT
    assert mail["To"].addresses[0].addr_spec == user.email
    assert mail["Auto-Submitted"] == "auto-generated"
    plain, html = _part(mail, "plain"), _part(mail, "html")
    assert "Hi Dana Reset," in plain and "60 minutes" in plain
    [token] = LINK.findall(plain)
    assert set(LINK.findall(html)) == {token}  # the button and the address in words
    # With SMTP the link is never logged.
    assert token not in caplog.text
    password_resets.reset_password(token=token, new_password=NEW, db=db)
    assert accounts.authenticate(email=user.email, password=NEW, db=db).id == user.id
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(email=user.email, password=PASSWORD, db=db)


async def test_an_unknown_address_gets_no_email_and_no_error(db, mail_env: Collector) -> None:
    factories.user(db)
    await _ask(db, "nobody-here@example.com")
    assert mail_env.envelopes == []


async def test_without_smtp_the_link_is_in_the_eml_and_in_the_log(
    db,
    mail_env: Collector,
    mail_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("SMTP_HOST")
    get_settings.cache_clear()
    user = factories.user(db)
    with caplog.at_level(logging.INFO):
        await _ask(db, user.email)
    assert mail_env.envelopes == []
    [path] = list(mail_dir.glob("*.eml"))
    mail = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(mail, EmailMessage)
    [token] = LINK.findall(_part(mail, "plain"))
    [line] = [r.getMessage() for r in caplog.records if r.name == password_reset.DEV_LINK_LOGGER]
    assert line == (
        f"password reset link for {user.email} (SMTP_HOST is not set, nothing was sent): "
        f"{PUBLIC_URL}/reset?token={token}"
    )
    password_resets.reset_password(token=token, new_password=NEW, db=db)
    assert accounts.authenticate(email=user.email, password=NEW, db=db).id == user.id


async def test_an_smtp_refusal_is_logged_not_raised(
    db, mail_env: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    user = factories.user(db)
    mail_env.refuse = "554 no thanks"
    with caplog.at_level(logging.ERROR):
        await _ask(db, user.email)
    assert mail_env.envelopes == []
    assert f"password reset e-mail to {user.email} not sent" in caplog.text


async def test_a_name_cannot_add_headers(db, mail_env: Collector) -> None:
    user = factories.user(db, name="Eve\r\nBcc: x@evil.test")
    await _ask(db, user.email)
    [mail] = mail_env.messages()
    assert mail["Bcc"] is None
    assert mail_env.recipients() == [[user.email]]
