"""Domain errors. The UI maps them to toasts and the REST layer to status codes.

A stranger asking for another pair's thread gets NotFound, exactly as for an id that does not
exist, so ids leak nothing. Forbidden is only for a participant who may not do a thing yet.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Invalid(DomainError):
    code = "invalid"


class Conflict(DomainError):
    code = "conflict"


class AuthenticationFailed(DomainError):
    code = "unauthenticated"


class RateLimited(DomainError):
    """Too many actions in a short time; `retry_after` says when one more will be accepted."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class TooLarge(Invalid):
    """An upload (or other input) over its size limit; the message states the limit."""

    code = "too_large"


class Unavailable(DomainError):
    """An outside service the app depends on (Supabase Auth / Storage) did not answer."""

    code = "unavailable"


class Busy(Unavailable):
    """This worker already has as many writes in flight as it takes: try again shortly.

    Raised before any work is done (nothing was stored), so a retry is always safe.
    """

    code = "busy"
