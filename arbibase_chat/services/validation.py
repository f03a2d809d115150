"""Input rules shared by the services: trimmed text, no NUL, bounded length.

Text is stored as the user meant it to read: every kind of line break becomes a line feed,
invisible control characters are dropped, and so are the bidi embedding/override controls
(U+202A to U+202E), which make text display in another order than it is stored ("Trojan
Source" spoofing of an amount or a link). Bidi marks and isolates (LRM, RLM, U+2066 to
U+2069) stay: Arabic and Hebrew text needs them, and they cannot reorder text outside their
own run.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from arbibase_chat.services.errors import Invalid

MAX_MESSAGE_CHARS = 10_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CLIENT_MSG_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_WS = re.compile(r"\s+")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")
# C0 and C1 controls except tab and line feed, DEL, and the bidi embeddings/overrides.
_INVISIBLE = re.compile(r"[\x01-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def clean_text(
    value: Any, *, field: str, max_chars: int, required: bool = True, single_line: bool = False
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text", field=field)
    if "\x00" in value:
        raise Invalid(f"{field} must not contain NUL characters", field=field)
    # The limit applies to what was sent (as the API schema documents it), not to what is
    # left after trimming: cleaning only shortens text, so this is the one check needed.
    if len(value) > max_chars:
        raise Invalid(f"{field} is longer than {max_chars} characters", field=field)
    value = _INVISIBLE.sub("", _NEWLINES.sub("\n", value)).strip()
    if single_line:
        value = _WS.sub(" ", value)
    if required and not value:
        raise Invalid(f"{field} must not be empty", field=field)
    return value


def normalize_email(value: Any) -> str:
    email = clean_text(value, field="email", max_chars=254).lower()
    if not _EMAIL.match(email):
        raise Invalid("email is not a valid address", field="email")
    return email


def as_uuid(value: Any, *, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Invalid(f"{field} is not a valid id", field=field) from None


def client_msg_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _CLIENT_MSG_ID.fullmatch(value):
        raise Invalid(
            "client_msg_id must be 1-64 letters, digits or _ . : -", field="client_msg_id"
        )
    return value


def choice(value: Any, *, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid(f"{field} must be one of: {', '.join(allowed)}", field=field)
    return str(value)


def page_limit(value: Any, *, default: int = 50, maximum: int = 200) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("limit must be a whole number", field="limit")
    if not 1 <= value <= maximum:
        raise Invalid(f"limit must be between 1 and {maximum}", field="limit")
    return value
