"""Input rules shared by the services: trimmed text, no NUL, bounded length, valid Unicode.

Text is stored as the user meant it to read: every kind of line break becomes a line feed,
invisible control characters are dropped, and so are the bidi embedding/override controls
(U+202A to U+202E), which make text display in another order than it is stored ("Trojan
Source" spoofing of an amount or a link). Bidi marks and isolates (LRM, RLM, U+2066 to
U+2069) stay: Arabic and Hebrew text needs them, and they cannot reorder text outside their
own run.

Text must be valid Unicode: a lone surrogate ("\\ud800", which JSON can spell) cannot be
encoded as UTF-8, so no database, log or JSON response could carry it.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
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
# Python strs may hold surrogate code points; JSON parsers pair valid ones, so any left is lone.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


# Messages are read by people (pages show them as they are; the API's bodies carry them next to
# the stable `code` and `field`), so a field is named in words, in sentence case.
_LABELS = {
    "email": "E-mail address",
    "display_name": "Display name",
    "client_msg_id": "Client message id",
    "url": "Link",
}


def label(field: str) -> str:
    """A field's name for people: `display_name` -> "Display name"."""
    if field in _LABELS:
        return _LABELS[field]
    words = field.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def require_unicode(value: Any, *, field: str) -> None:
    """Refuse a str holding a lone surrogate (other types are left to the caller's checks)."""
    if isinstance(value, str) and _SURROGATE.search(value):
        raise Invalid(
            f"{label(field)} must be valid Unicode text (no lone surrogates)", field=field
        )


def holds_lone_surrogate(value: Any) -> bool:
    """True when a str anywhere in value (keys included, any nesting) holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def clean_text(
    value: Any, *, field: str, max_chars: int, required: bool = True, single_line: bool = False
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{label(field)} must be text", field=field)
    require_unicode(value, field=field)
    if "\x00" in value:
        raise Invalid(f"{label(field)} must not contain NUL characters", field=field)
    # The limit applies to what was sent (as the API schema documents it), not to what is
    # left after trimming: cleaning only shortens text, so this is the one check needed.
    if len(value) > max_chars:
        raise Invalid(f"{label(field)} is longer than {max_chars} characters", field=field)
    value = _INVISIBLE.sub("", _NEWLINES.sub("\n", value)).strip()
    if single_line:
        value = _WS.sub(" ", value)
    if required and not value:
        raise Invalid(f"{label(field)} must not be empty", field=field)
    return value


# Spaces, controls, invisible formatting characters: a browser drops or rewrites some of them
# inside a URL (tab and line feed vanish), so a link must hold none, not have them cleaned.
_NOT_IN_LINKS = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


def link_url(
    value: Any, *, field: str, site_path: re.Pattern[str], max_chars: int = 2048
) -> str | None:
    """A link a browser will open: an absolute http(s) URL, or a path on this site that
    `site_path` matches whole. A path starts with one "/" followed by neither "/" nor "\\":
    browsers read "//host" and "/\\host" as another host. No backslash anywhere (browsers treat
    it as "/"), no space or control character."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(f"{label(field)} must be text", field=field)
    require_unicode(value, field=field)
    if len(value) > max_chars:
        raise Invalid(f"{label(field)} is longer than {max_chars} characters", field=field)
    url = value.strip()
    if not url:
        raise Invalid(f"{label(field)} must not be empty", field=field)
    if any(ch == "\\" or unicodedata.category(ch) in _NOT_IN_LINKS for ch in url):
        raise Invalid(
            f"{label(field)} must not contain spaces, control characters or backslashes",
            field=field,
        )
    if url.startswith(("https://", "http://")):
        return url
    if url[0] == "/" and url[1:2] not in ("/", "\\") and site_path.fullmatch(url):
        return url
    raise Invalid(
        f"{label(field)} must be an http(s) URL or a link to a file of this site", field=field
    )


def normalize_email(value: Any) -> str:
    email = clean_text(value, field="email", max_chars=254).lower()
    if not _EMAIL.match(email):
        raise Invalid("Enter a valid e-mail address, like name@example.com.", field="email")
    return email


def as_uuid(value: Any, *, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Invalid(f"{label(field)} is not a valid id", field=field) from None


def client_msg_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _CLIENT_MSG_ID.fullmatch(value):
        raise Invalid(
            "Client message id must be 1-64 letters, digits or _ . : -", field="client_msg_id"
        )
    return value


MAX_TAG_CHARS = 40


def tag(value: Any, *, field: str = "tag") -> str:
    """A thread tag as stored: one line, at most MAX_TAG_CHARS."""
    return clean_text(value, field=field, max_chars=MAX_TAG_CHARS, single_line=True)


def choice(value: Any, *, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid(f"{label(field)} must be one of: {', '.join(allowed)}", field=field)
    return str(value)


def page_limit(value: Any, *, default: int = 50, maximum: int = 200) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("Limit must be a whole number", field="limit")
    if not 1 <= value <= maximum:
        raise Invalid(f"Limit must be between 1 and {maximum}", field="limit")
    return value


# --- JSON values (message metadata) ---------------------------------------------------------

#: Objects/arrays inside each other, the outer object counting 1. A deeper value cannot be
#: serialized by pydantic (~255) or parsed back by json (~1000): one row would break a page.
MAX_JSON_DEPTH = 32
#: Serialized size in UTF-8 bytes of a stored JSON object such as message metadata.
MAX_JSON_BYTES = 16_384
#: Integers a JSON reader in any language (64-bit) can hold.
MAX_JSON_INT = 2**63 - 1


def json_problem(value: Any, *, strict: bool) -> str | None:
    """Why `value` is not plain JSON that can be stored and shown, or None when it is.

    Plain JSON: dict (str keys), list, str, int, finite float, bool, None; at most
    MAX_JSON_DEPTH levels; strings valid Unicode. `strict` adds the rules for new writes: no
    NUL in strings (PostgreSQL's jsonb refuses it) and 64-bit integers. Iterative: no recursion
    on hostile nesting.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"is nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return "must have text keys"
                    problem = _string_problem(key, strict=strict)
                    if problem:
                        return problem
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            problem = _string_problem(item, strict=strict)
            if problem:
                return problem
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if strict and abs(item) > MAX_JSON_INT:
                return "must hold integers of at most 64 bits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "must hold finite numbers only"
        else:
            return "must be plain JSON (objects, arrays, text, numbers, true/false, null)"
    return None


def _string_problem(text: str, *, strict: bool) -> str | None:
    if _SURROGATE.search(text):
        return "must hold valid Unicode text (no lone surrogates)"
    if strict and "\x00" in text:
        return "must not contain NUL characters"
    return None


def json_object(
    value: Any, *, field: str, max_bytes: int = MAX_JSON_BYTES
) -> dict[str, Any] | None:
    """A JSON object to store (message metadata): plain JSON, bounded depth and size."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(f"{label(field)} must be an object", field=field)
    problem = json_problem(value, strict=True)
    if problem:
        raise Invalid(f"{label(field)} {problem}", field=field)
    # Measured as PostgreSQL prints jsonb (", " and ": ", UTF-8), like the Supabase policy.
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > max_bytes:
        raise Invalid(f"{label(field)} is larger than {max_bytes} bytes", field=field)
    return value
