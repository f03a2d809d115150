"""Request and response bodies of the REST API.

Request bodies use the seed's names (camelCase on the seed's routes) and refuse unknown keys.
They check JSON types only: the rules (lengths, trimming, allowed values) belong to the
services; limits shown in the schema are documentation taken from the services' constants.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from arbibase_chat.models import (
    DealStage,
    MessagePublic,
    PropertyBase,
    PropertyPublic,
    PropertyUnread,
    Role,
    ThreadPublic,
    ThreadStatus,
    UserPublic,
)
from arbibase_chat.services import roi, validation
from arbibase_chat.services.accounts import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from arbibase_chat.services.portfolio import PortfolioItem
from arbibase_chat.services.threads import MAX_TAGS_PER_THREAD


def _doc(**schema: Any) -> Any:
    """Schema-only constraints (enforced by the services, shown to API clients)."""
    return Field(default=None, json_schema_extra=schema)


def _unicode_only(value: Any) -> Any:
    # JSON can spell a lone surrogate ("\\ud800"); no service, database or response can
    # carry one. The services refuse it too; this names the field for any body, new ones too.
    if validation.holds_lone_surrogate(value):
        raise ValueError("must be valid Unicode text (no lone surrogates)")
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _valid_unicode = field_validator("*", mode="before")(_unicode_only)


# --- auth -----------------------------------------------------------------------------------


NOT_BLANK = r"\S"


class SignupIn(Body):
    email: str = Field(json_schema_extra={"maxLength": 254})
    password: str = Field(
        json_schema_extra={
            "minLength": MIN_PASSWORD_CHARS,
            "maxLength": MAX_PASSWORD_CHARS,
            "pattern": NOT_BLANK,
        }
    )
    display_name: str = Field(json_schema_extra={"maxLength": 80, "pattern": NOT_BLANK})
    role: Role = "operator"


class LoginIn(Body):
    email: str
    password: str


class PasswordResetIn(Body):
    email: str = Field(json_schema_extra={"maxLength": 254})


class PasswordResetConfirmIn(Body):
    token: str = Field(json_schema_extra={"maxLength": 64})
    password: str = Field(
        json_schema_extra={
            "minLength": MIN_PASSWORD_CHARS,
            "maxLength": MAX_PASSWORD_CHARS,
            "pattern": NOT_BLANK,
        }
    )


class MessageOut(BaseModel):
    """A sentence for people; nothing else to say."""

    message: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserPublic


# --- threads --------------------------------------------------------------------------------


class ThreadCreateIn(Body):
    """The seed's `{propertyId, ownerId, subject}`; the caller is the operator."""

    propertyId: uuid.UUID
    ownerId: uuid.UUID
    subject: str | None = _doc(maxLength=200)


class ThreadCreated(BaseModel):
    id: uuid.UUID


class ThreadList(BaseModel):
    data: list[ThreadPublic]
    # Pass as `cursor` for the next (older) page; null on the last page.
    next_cursor: str | None = None


class ThreadPatchIn(Body):
    status: ThreadStatus | None = None
    subject: str | None = _doc(maxLength=200)
    addTags: list[str] = Field(default_factory=list, max_length=MAX_TAGS_PER_THREAD)
    removeTags: list[str] = Field(default_factory=list, max_length=MAX_TAGS_PER_THREAD)


# --- messages -------------------------------------------------------------------------------


class MessageCreateIn(Body):
    """The seed's `{text, attachmentUrl}` plus an idempotency key and an uploaded file."""

    text: str | None = _doc(maxLength=validation.MAX_MESSAGE_CHARS)
    attachmentUrl: str | None = _doc(maxLength=2048)
    attachmentId: uuid.UUID | None = None
    clientMsgId: str | None = _doc(pattern=r"^[A-Za-z0-9_.:-]{0,64}$")
    kind: Literal["text", "offer"] = "text"
    metadata: dict[str, Any] | None = None


class MessageCreated(BaseModel):
    id: uuid.UUID
    created_at: datetime


class MessageList(BaseModel):
    data: list[MessagePublic]


class SnippetPieceOut(BaseModel):
    """A piece of the snippet as plain text; `match` marks a word of the search."""

    text: str
    match: bool


class MessageSearchHit(BaseModel):
    """One found message: where it is (`threadId`, `seq`: open the thread there) and why."""

    threadId: uuid.UUID
    messageId: uuid.UUID
    seq: int
    snippet: list[SnippetPieceOut]
    createdAt: datetime
    senderId: uuid.UUID
    senderName: str
    threadTitle: str
    propertyTitle: str
    status: ThreadStatus
    rank: float


class MessageSearchResults(BaseModel):
    results: list[MessageSearchHit]


class MessageEditIn(Body):
    """The new text of my own text message (within the edit window)."""

    text: str = Field(json_schema_extra={"minLength": 1, "maxLength": validation.MAX_MESSAGE_CHARS})


class ReadIn(Body):
    upToMessageId: uuid.UUID | None = None


# --- offers ---------------------------------------------------------------------------------


class OfferTermsIn(Body):
    """An offer's terms (money in dollars). The rules (ranges, dates) are the service's; an
    error names the term."""

    monthlyRent: float
    leaseMonths: int = Field(json_schema_extra={"minimum": 1, "maximum": 120})
    startDate: str = Field(json_schema_extra={"format": "date"})
    deposit: float | None = None
    annualEscalatorPct: float | None = None
    model: Literal["guaranteed", "revenue_share"] = "guaranteed"
    revenueSharePct: float | None = None
    subletClause: bool | None = None
    insuranceCoverage: float | None = None
    maintenanceThreshold: float | None = None
    expiresInDays: int | None = _doc(minimum=1, maximum=30)


class OfferCreateIn(Body):
    """ROI "Send Offer": the property, the terms, optionally the calculator's inputs (the ROI
    snapshot is computed on the server) and a note. `shareNumbers` shows the snapshot to the
    owner too."""

    propertyId: uuid.UUID
    terms: OfferTermsIn
    roi: RoiIn | None = None
    message: str | None = _doc(maxLength=2000)
    shareNumbers: bool = False
    clientMsgId: str | None = _doc(pattern=r"^[A-Za-z0-9_.:-]{0,64}$")


class OfferCounterIn(Body):
    terms: OfferTermsIn
    message: str | None = _doc(maxLength=2000)
    clientMsgId: str | None = _doc(pattern=r"^[A-Za-z0-9_.:-]{0,64}$")


class OfferDeclineIn(Body):
    reason: str | None = _doc(maxLength=500)


class OfferCreated(BaseModel):
    offerId: uuid.UUID
    threadId: uuid.UUID
    messageId: uuid.UUID
    version: int
    status: str


class OfferChangeOut(BaseModel):
    field: str
    label: str
    before: str
    after: str


class OfferOut(BaseModel):
    """One version of an offer as the caller may see it (`roi` only if theirs or shared)."""

    offerId: uuid.UUID
    threadId: uuid.UUID
    propertyId: uuid.UUID
    version: int
    parentId: uuid.UUID | None
    madeBy: uuid.UUID
    madeByRole: Role
    terms: dict[str, Any]
    headline: str
    status: str
    expiresAt: datetime
    createdAt: datetime
    decidedBy: uuid.UUID | None
    decidedAt: datetime | None
    reason: str | None
    messageId: uuid.UUID | None
    changes: list[OfferChangeOut]
    roi: dict[str, Any] | None
    numbersShared: bool
    # What the caller may do now: accept, decline, counter (the other party), withdraw (maker).
    actions: list[str]


class OfferList(BaseModel):
    data: list[OfferOut]


class StageIn(Body):
    """A hand-set step of the deal: `lease_drafted`, `signed`, `lost` (with a reason), or
    `resume` (a lost deal back to the stage its offers give)."""

    stage: Literal["lease_drafted", "signed", "lost", "resume"]
    reason: str | None = _doc(maxLength=500)


class StageOut(BaseModel):
    stage: DealStage


# --- portfolio and properties ---------------------------------------------------------------


class PortfolioUnread(BaseModel):
    data: list[PropertyUnread]


class PortfolioList(BaseModel):
    data: list[PortfolioItem]


class PropertyList(BaseModel):
    data: list[PropertyPublic]


class PropertyIn(PropertyBase):
    # Strict: JSON `true` or "3" is not a number of bedrooms.
    model_config = ConfigDict(extra="forbid", strict=True)  # type: ignore[assignment]

    _valid_unicode = field_validator("*", mode="before")(_unicode_only)


# --- ROI Calculator -------------------------------------------------------------------------


def _roi_input(key: str) -> Any:
    low, high = roi.LIMITS[key]
    default = roi.DEFAULTS.get(key, 0)
    return Field(
        default=None,
        json_schema_extra={"minimum": low, "maximum": high, "default": default},
    )


class RoiIn(Body):
    """The ROI Calculator's inputs (services/roi.py); missing or null: the default shown."""

    # Strict: JSON numbers only (the page's typed text goes to the service directly).
    model_config = ConfigDict(extra="forbid", strict=True)

    monthlyRent: float | None = _roi_input("monthlyRent")
    adr: float | None = _roi_input("adr")
    occupancyPct: float | None = _roi_input("occupancyPct")
    avgStayNights: float | None = _roi_input("avgStayNights")
    cleaningFeePerStay: float | None = _roi_input("cleaningFeePerStay")
    cleaningCostPerStay: float | None = _roi_input("cleaningCostPerStay")
    platformFeePct: float | None = _roi_input("platformFeePct")
    managementPct: float | None = _roi_input("managementPct")
    utilities: float | None = _roi_input("utilities")
    internet: float | None = _roi_input("internet")
    insurance: float | None = _roi_input("insurance")
    supplies: float | None = _roi_input("supplies")
    software: float | None = _roi_input("software")
    otherMonthly: float | None = _roi_input("otherMonthly")
    deposit: float | None = _roi_input("deposit")
    furnishingCost: float | None = _roi_input("furnishingCost")
    setupCost: float | None = _roi_input("setupCost")
    upfrontRentMonths: float | None = _roi_input("upfrontRentMonths")


class RoiSensitivity(BaseModel):
    """Monthly net cash flow: rows are occupancy + `occupancy_deltas` points (clamped to
    0..100, the result in `occupancy_pcts`), columns ADR + `adr_deltas_pct` percent (`adrs`)."""

    occupancy_deltas: list[int]
    adr_deltas_pct: list[int]
    occupancy_pcts: list[float]
    adrs: list[float]
    net_cash_flow: list[list[float]]


class RoiOut(BaseModel):
    """Money and percentages rounded to cents, months to 0.1, nights and stays to 0.01."""

    booked_nights: float
    stays: float
    gross_revenue: float
    platform_fees: float
    management_fees: float
    cleaning_costs: float
    fixed_costs: float
    total_costs: float
    net_cash_flow: float
    annual_net: float
    startup_cost: float
    cash_on_cash_pct: float | None  # null: no startup cost
    payback_months: float | None  # null: the unit does not earn (net <= 0)
    break_even_occupancy_pct: float | None  # null: no occupancy breaks even; may exceed 100
    sensitivity: RoiSensitivity


# --- AI reply suggestions -------------------------------------------------------------------


class AiReplyIn(Body):
    threadId: uuid.UUID


class AiSuggestionOut(BaseModel):
    text: str = Field(description="A draft the operator may edit and send; never sent for them.")
    intent: Literal[
        "price",
        "term",
        "deposit",
        "insurance",
        "viewing",
        "accept",
        "decline",
        "counter",
        "question",
    ]


class AiReplyOut(BaseModel):
    """At most three suggestions. `provider`: `templates` (no AI provider configured) or
    `openai-compatible:<model>`. A provider that timed out or failed: no suggestions and a
    `notice` saying so (200, never an error); otherwise `notice` is null."""

    suggestions: list[AiSuggestionOut] = Field(max_length=3)
    provider: str
    notice: str | None = None


# --- notifications (issue #12, part 3) -------------------------------------------------------


class MuteIn(Body):
    """How long to mute the thread for me: "1h", "1d", "forever"; null unmutes."""

    duration: Literal["1h", "1d", "forever"] | None = None


class MuteState(BaseModel):
    thread_id: uuid.UUID
    # null: not muted; 9999-12-31: until unmuted.
    muted_until: datetime | None


class NotificationSettingsIn(Body):
    # Strict: JSON `0` or "no" is not an answer (schemathesis found `0` accepted as false).
    emailEnabled: StrictBool
