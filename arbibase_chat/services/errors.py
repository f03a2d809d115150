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


class OperatorsOnly(Forbidden):
    """Only operator accounts may do this (services/policy.py)."""

    code = "operators_only"


class OwnersOnly(Forbidden):
    """Only owner accounts may do this (services/policy.py)."""

    code = "owners_only"


class VerifyOwnership(Forbidden):
    """An owner may do this only once ArbiBase verified their ownership (services/policy.py)."""

    code = "verify_ownership"


class StaffOnly(Forbidden):
    """Only ArbiBase staff accounts may do this (services/verification.py)."""

    code = "staff_only"


class UpgradeRequired(Forbidden):
    """The thread's operator's plan does not include this feature (services/policy.py, tiers);
    `feature` names it for API clients (`attachments`, `ai_suggestions`, ...)."""

    code = "upgrade_required"

    def __init__(self, message: str, *, feature: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.feature = feature


class Invalid(DomainError):
    code = "invalid"


# Replies by e-mail (services/email_replies.py); the inbound listener turns them into SMTP
# refusals with the same words.
class UnknownReplyAddress(NotFound):
    """The reply address's token is malformed, unknown or expired."""

    code = "unknown_reply_address"


class SenderMismatch(Forbidden):
    """The reply's From is not the address of the user the reply address was issued to."""

    code = "sender_mismatch"


class EmptyReply(Invalid):
    """Nothing was left of the e-mail once the quoted message and the signature were cut."""

    code = "empty_reply"


class InvalidResetToken(Invalid):
    """A password-reset link that is unknown, expired, already used or replaced by a newer one
    (services/password_resets.py): one error for all, so the link reveals nothing more."""

    code = "invalid_reset_token"


class Conflict(DomainError):
    code = "conflict"


class StepConflict(Conflict):
    """A step that is not allowed in the current state (an offer's, a deal's); `code` says
    which rule (e.g. `offer_closed`, `own_offer`, `stage_order`), stable for API clients."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class EditConflict(StepConflict):
    """Editing or deleting a message its state does not allow (services/message_edits.py);
    `code`: `not_sender`, `not_editable`, `message_deleted`, `edit_window_closed`,
    `thread_closed`."""


class ClaimPending(Conflict):
    """The owner already has a verification claim under review (services/verification.py)."""

    code = "claim_pending"


class ClaimDecided(Conflict):
    """The verification claim was approved or rejected already (by someone else, maybe)."""

    code = "claim_decided"


class AlreadyVerified(Conflict):
    """The owner's ownership is verified already: there is nothing to claim or approve."""

    code = "already_verified"


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


class ImageTooLarge(Invalid):
    """An image with more pixels than its format may be decoded with; the message names the
    limit in megapixels."""

    code = "image_too_large"


class QuotaExceeded(TooLarge):
    """The upload would take the user's stored attachments over their storage quota."""

    code = "storage_quota_exceeded"


class TooManyPending(DomainError):
    """Too many uploads not yet sent in a message: send them (or wait for the sweep)."""

    code = "too_many_pending_uploads"


class Unavailable(DomainError):
    """An outside service the app depends on (Supabase Auth / Storage) did not answer."""

    code = "unavailable"


class ResetsElsewhere(Unavailable):
    """Supabase mode: passwords live at Supabase Auth, and so do their resets."""

    code = "password_reset_unavailable"


class Busy(Unavailable):
    """This worker already has as many writes in flight as it takes: try again shortly.

    Raised before any work is done (nothing was stored), so a retry is always safe.
    """

    code = "busy"
