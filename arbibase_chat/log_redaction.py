"""Keep secrets out of the logs.

Reflex logs a failed event whole: its payload (a forged event can carry a password) and the
socket's headers (the access-token cookie). Anything that logs a request or an event may do
the same. `install()` wraps the log-record factory once per process, so every record, from
any library, is redacted before a handler formats it: access tokens (JWTs), the token
cookie, Bearer credentials, Reflex client tokens (which name a tab's server-side state), the
tokens of reply-by-e-mail addresses (aiosmtpd logs every RCPT line) and the values of
secret-looking keys (password, token, secret, cookie, authorization, api key).

One logger is let through: `UNREDACTED_LOGGER`, on which mail/password_reset.py prints a
password-reset link when no SMTP server is configured (`make run`): the link is the point of
that line (issue #13), and with SMTP it is never logged.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

REDACTED = "[redacted]"
# Kept in step with mail/password_reset.DEV_LINK_LOGGER (tests/test_log_redaction.py).
UNREDACTED_LOGGER = "arbibase_chat.dev_mail_link"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # A JWT: three base64url parts, the first one a JSON header ("eyJ" = '{"').
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(arbibase_access_token=)[^;\s'\",}]+"), rf"\1{REDACTED}"),
    # reply+<token>@EMAIL_REPLY_DOMAIN: the token posts as its user (mail/inbound.py).
    (re.compile(r"(?i)(reply\+)[0-9a-f]{32}"), rf"\1{REDACTED}"),
    # `?token=<uuid>` (the socket URL) and `"token": "<uuid>"` (Reflex's router data).
    (re.compile(r"(?i)(token=)[0-9a-f-]{8,}"), rf"\1{REDACTED}"),
    # 'password': 'x' / "access_token": "x" / password=x (dict reprs, JSON, form bodies).
    (
        re.compile(
            r"""(?ix)
            (["']?[\w-]*(?:password|passwd|token|secret|cookie|authorization|api[_-]?key)["']?
             \s*[:=]\s*)
            (?:(["'])(?:\\.|(?!\2).)*\2 | [^\s,;&}\])'"]+)
            """
        ),
        rf"\1'{REDACTED}'",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_installed = False


def install() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.name == UNREDACTED_LOGGER:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error path
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatted now, redacted, and cached where every Formatter looks first.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
        return record

    logging.setLogRecordFactory(redacting_factory)
