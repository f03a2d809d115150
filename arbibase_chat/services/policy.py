"""Who may do what: the one place the app's permission rules live.

Being a participant is checked first, elsewhere (`_access.participant_thread`: a stranger gets
NotFound). What a participant, or an account, may then do is decided here and nowhere else:

| action              | who may                                         | refusal (403 code)  |
|---------------------|-------------------------------------------------|---------------------|
| `start_negotiation` | operator accounts                               | `operators_only`    |
| `list_property`     | owner accounts (verified or not)                | `owners_only`       |
| `claim_ownership`   | owner accounts (not yet verified)               | `owners_only`       |
| `decide_claims`     | staff accounts (`users.is_staff`)               | `staff_only`        |
| `read`, `mark_read` | every participant, an unverified owner too      | —                   |
| `send`, `upload`    | the operator; the owner once verified           | `verify_ownership`  |
| `change_status`     | (archive, close, reopen) as `send`              | `verify_ownership`  |
| `rename`, `tag`     | (subject; add / remove tags) as `send`          | `verify_ownership`  |
| `offer`             | (make, counter, accept, decline, withdraw) as `send` | `verify_ownership` |
| `set_stage`         | (lease drafted, signed, lost, resumed) as `send` | `verify_ownership` |

Which party may take which step of an offer (only the other side accepts; only the maker
withdraws) is the offer's state machine, in services/offers.py (409 with a code).

An unverified owner sees the negotiations operators open with them and can read them, but
takes no part in them (a message, a file, the thread's status, name or tags) until ArbiBase
staff verified their ownership (`services/verification.py`: the owner submits a claim with a
proof document, staff approve or reject it; `accounts.set_verified` records it directly). Refusals are `Forbidden` subclasses
with stable codes (`errors.OperatorsOnly`, `OwnersOnly`, `VerifyOwnership`); the API answers
403 with that code.

The database's own policies are the second line and say the same for an unverified owner
(alembic 0004 + 0006, supabase/migrations/*_rls.sql + *_verified_owner_writes.sql): no message,
thread change, tag or file record of theirs passes RLS either.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Literal

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from arbibase_chat.config import TIER_FEATURE_NAMES, get_settings
from arbibase_chat.models import MessagingThread, User
from arbibase_chat.services.errors import (
    NotFound,
    OperatorsOnly,
    OwnersOnly,
    StaffOnly,
    UpgradeRequired,
    VerifyOwnership,
)

AccountAction = Literal["start_negotiation", "list_property", "claim_ownership"]
ThreadAction = Literal[
    "read", "mark_read", "send", "upload", "change_status", "rename", "tag", "offer", "set_stage"
]

# Account actions: the account role that may take them.
ACCOUNT_ROLE: dict[str, str] = {
    "start_negotiation": "operator",
    "list_property": "owner",
    "claim_ownership": "owner",
}
ACCOUNT_REFUSAL: dict[str, type[OperatorsOnly] | type[OwnersOnly]] = {
    "start_negotiation": OperatorsOnly,
    "list_property": OwnersOnly,
    "claim_ownership": OwnersOnly,
}
ACCOUNT_MESSAGE: dict[str, str] = {
    # Negotiations start from the operator side (ROI "Send Offer", Property Browser); owners
    # answer in the threads operators open.
    "start_negotiation": "only operator accounts can start a negotiation",
    "list_property": "only owner accounts can list a property",
    "claim_ownership": "only owner accounts verify ownership of their properties",
}

# Thread actions any participant may take, and those the thread's owner takes only verified.
ANY_PARTICIPANT: frozenset[str] = frozenset({"read", "mark_read"})
VERIFIED_OWNER: dict[str, str] = {
    "send": "Verify ownership of this property before replying to operators.",
    "upload": "Verify ownership of this property before sharing files with operators.",
    "change_status": "Verify ownership of this property before changing this thread's status.",
    "rename": "Verify ownership of this property before renaming this thread.",
    "tag": "Verify ownership of this property before tagging this thread.",
    "offer": "Verify ownership of this property before answering offers.",
    "set_stage": "Verify ownership of this property before changing the deal's stage.",
}


def _known(action: str) -> None:
    if action not in ANY_PARTICIPANT and action not in VERIFIED_OWNER:
        raise ValueError(f"unknown thread action {action!r}")


def may(action: ThreadAction, *, is_owner: bool, verified: bool) -> bool:
    """The decision for a participant of a thread (no database): may they take `action`?"""
    _known(action)
    return action in ANY_PARTICIPANT or verified or not is_owner


def require_account(session: Session, *, user_id: uuid.UUID, action: AccountAction) -> None:
    """Raise the action's refusal unless the user's account role may take it."""
    # Columns, not the entity: requests may not read password hashes (alembic 0004).
    role = session.scalar(select(col(User.role)).where(col(User.id) == user_id))
    if role is None:
        raise NotFound("User not found")
    if role != ACCOUNT_ROLE[action]:
        raise ACCOUNT_REFUSAL[action](ACCOUNT_MESSAGE[action])


def require_in_thread(
    session: Session,
    *,
    user_id: uuid.UUID,
    thread: MessagingThread,
    action: ThreadAction,
    verified: bool | None = None,
) -> None:
    """For a participant (already checked) of `thread`: raise VerifyOwnership unless allowed.
    `verified`: the user's flag if the caller read it already (`VERIFIED`), else read here."""
    _known(action)
    is_owner = user_id == thread.owner_id
    if may(action, is_owner=is_owner, verified=False):
        return  # no need to look the account up
    if verified is None:
        verified = bool(session.scalar(select(col(User.verified)).where(col(User.id) == user_id)))
    if not may(action, is_owner=is_owner, verified=verified):
        raise VerifyOwnership(VERIFIED_OWNER[action])


def require_staff(session: Session, *, user_id: uuid.UUID) -> None:
    """Raise StaffOnly unless the user is an ArbiBase staff account (`decide_claims`)."""
    if not session.scalar(select(col(User.is_staff)).where(col(User.id) == user_id)):
        raise StaffOnly("Only ArbiBase staff can review ownership verifications")


# --- tiers ------------------------------------------------------------------------------------
# A tier is the operator's subscription (owners never pay). A thread's features follow its
# operator's tier, for both of its parties. The matrix is TIER_FEATURES in the settings (env
# `TIER_FEATURES`, JSON; default config.DEFAULT_TIER_FEATURES):
#   Beta: text and offers; Pro: + attachments; Premium: + AI suggestions + e-mail fallback.

Feature = Literal["text", "offers", "attachments", "ai_suggestions", "email_fallback"]
FEATURES: tuple[str, ...] = TIER_FEATURE_NAMES
FEATURE_NAMES: dict[str, str] = {
    "text": "messages",
    "offers": "offers",
    "attachments": "file sharing",
    "ai_suggestions": "AI reply suggestions",
    "email_fallback": "e-mail notifications",
}
PLAN_NAMES: dict[str, str] = {"beta": "Beta", "pro": "Pro", "premium": "Premium"}


def tier_features(tier: str) -> frozenset[str]:
    """What a thread whose operator is on `tier` may use (an unknown tier: Beta's)."""
    matrix: Mapping[str, tuple[str, ...]] = get_settings().tier_features
    return frozenset(matrix.get(tier) or matrix.get("beta") or ())


def lowest_tier_with(feature: str) -> str | None:
    """The cheapest plan that includes `feature`, for "included in the Pro plan"."""
    for tier in ("beta", "pro", "premium"):
        if feature in tier_features(tier):
            return tier
    return None


def upgrade_message(feature: str, *, is_operator: bool) -> str:
    name = FEATURE_NAMES.get(feature, feature)
    if not is_operator:
        return f"The operator's plan does not include {name}."
    tier = lowest_tier_with(feature)
    # Upper-case the first letter only: "AI reply suggestions" keeps its "AI".
    sentence = name[:1].upper() + name[1:]
    if tier is None:
        return f"{sentence} is not available on any plan."
    return f"{sentence} is included in the {PLAN_NAMES[tier]} plan."


def operator_tier(session: Session, thread: MessagingThread) -> str:
    tier = session.scalar(select(col(User.tier)).where(col(User.id) == thread.operator_id))
    return tier or "beta"


# The same two facts as columns, to read along with the thread (`_access.participant_thread_with`):
# the operator's tier, correlated to the thread, and the `me` parameter's verified flag.
OPERATOR_TIER = (
    select(col(User.tier)).where(col(User.id) == col(MessagingThread.operator_id)).scalar_subquery()
)
VERIFIED = select(col(User.verified)).where(col(User.id) == bindparam("me")).scalar_subquery()


def require_feature(
    session: Session, *, user_id: uuid.UUID, thread: MessagingThread, feature: Feature
) -> None:
    """Raise UpgradeRequired unless the thread's operator's tier includes `feature`."""
    if feature in tier_features(operator_tier(session, thread)):
        return
    raise UpgradeRequired(
        upgrade_message(feature, is_operator=user_id == thread.operator_id), feature=feature
    )
