"""Secrets never reach a log line (finding 10): the redaction on real logging records."""

from __future__ import annotations

import logging

import pytest

from arbibase_chat import log_redaction

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiZXhwIjo5OTk5OTk5OTk5fQ"
    ".c2lnbmF0dXJlLXBhcnQ"
)


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        # What Reflex printed for an unknown handler: the event's payload and headers.
        (
            "Error processing event queue entry for Event(name='x.nope', router_data={"
            "'headers': {'cookie': 'arbibase_access_token=" + JWT + "; arbibase_tz=UTC'}, "
            "'token': '00f0f4ec-3141-4681-8d53-ef3adb7e8b9a'}, payload={'password': 'hunter2 x'})",
            "hunter2",
        ),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ('{"access_token": "opaque-secret-value", "email": "a@b.c"}', "opaque-secret-value"),
        ("GET /_event/?EIO=4&transport=websocket&token=0b7b1c7e-6c3f-4a53", "0b7b1c7e"),
        ("password=letmein&email=a%40b.c", "letmein"),
        ("stored token " + JWT, "eyJzdWIi"),
        ("'client_token': '00f0f4ec-3141-4681-8d53-ef3adb7e8b9a'", "00f0f4ec"),
        # aiosmtpd's INFO line for a RCPT command (the inbound reply listener).
        (
            "('127.0.0.1', 40522) >> b'RCPT TO:<Reply+0123456789ABCDEF0123456789abcdef@r.test>'",
            "0123456789",
        ),
    ],
)
def test_secrets_are_redacted(line: str, secret: str) -> None:
    assert secret not in log_redaction.redact(line)


def test_ordinary_lines_are_kept() -> None:
    line = "thread 0b7b1c7e sent message seq=4 to 2 sessions in 12 ms"
    assert log_redaction.redact(line) == line


def test_every_record_and_traceback_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    log_redaction.install()
    log_redaction.install()  # idempotent
    logger = logging.getLogger("tests.redaction")
    with caplog.at_level(logging.INFO, logger="tests.redaction"):
        logger.info("payload=%s", {"password": "s3cret-pw"})
        try:
            raise KeyError(f"cookie arbibase_access_token={JWT}")
        except KeyError:
            logger.exception("handler failed for %s", "x")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "s3cret-pw" not in text and JWT not in text
    assert "handler failed for x" in text and "[redacted]" in text


def test_a_reset_link_is_redacted_except_on_the_dev_link_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue #13: without SMTP the reset link is printed to the log on purpose, on one logger;
    the same link anywhere else (a failed event's router data, say) is redacted."""
    from arbibase_chat.mail import password_reset

    assert password_reset.DEV_LINK_LOGGER == log_redaction.UNREDACTED_LOGGER
    log_redaction.install()
    token = "0123456789abcdef" * 4
    url = f"http://localhost:3000/reset?token={token}"
    assert token not in log_redaction.redact(f"router_data={{'asPath': '{url}'}}")
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests.redaction").info("page %s", url)
        logging.getLogger(log_redaction.UNREDACTED_LOGGER).info("password reset link: %s", url)
    lines = [r.getMessage() for r in caplog.records]
    assert token not in lines[0]
    assert lines[1] == f"password reset link: {url}"
