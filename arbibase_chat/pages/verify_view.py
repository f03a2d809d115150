"""Owner verification views: the thread page's banner (instead of the composer) and /verify
(state in pages/verify.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.config import get_settings
from arbibase_chat.pages.inbox_view import inbox_navbar
from arbibase_chat.pages.verify import PROOF_ACCEPT, PROOF_NOTE_ID, PROOF_UPLOAD_ID, VerifyState
from arbibase_chat.session import SessionState

# What an unverified owner may do, in their words (services/policy.py is the rule).
WHY = (
    "You can read what operators send you here, but only owners verified by ArbiBase can "
    "reply. Show that you own this property (a deed or a recent tax bill is enough)."
)


def needs_verification() -> Any:
    """The signed-in user is an owner not verified yet (UI only; the service decides)."""
    return (SessionState.role == "owner") & ~SessionState.verified


def _recheck_button() -> rx.Component:
    # Clicked every 30 s by assets/chat.js while a banner or the pending page shows.
    return rx.el.button(
        id="verify-recheck", on_click=VerifyState.recheck, hidden=True, type="button"
    )


def verify_banner() -> rx.Component:
    """Instead of the composer, for an unverified owner: why they cannot reply, and what next."""
    button = rx.link(
        rx.button(
            rx.icon("badge-check", size=16),
            rx.cond(VerifyState.claim_status == "rejected", "Try again", "Verify ownership"),
            size="2",
        ),
        href=routes.VERIFY,
        id="verify-ownership-link",
    )
    body = rx.match(
        VerifyState.claim_status,
        (
            "pending",
            rx.vstack(
                rx.text("Your ownership proof is under review", weight="bold", size="2"),
                rx.text(
                    "Submitted ",
                    VerifyState.claim_submitted,
                    ". You can reply here as soon as ArbiBase approves it; this page "
                    "updates by itself.",
                    size="2",
                    color=rx.color("gray", 11),
                ),
                spacing="1",
            ),
        ),
        (
            "rejected",
            rx.vstack(
                rx.text("Your ownership proof was not accepted", weight="bold", size="2"),
                rx.text("Reason: ", VerifyState.claim_reason, size="2", color=rx.color("gray", 11)),
                rx.text(
                    "Send another document to verify ownership and reply.",
                    size="2",
                    color=rx.color("gray", 11),
                ),
                spacing="1",
            ),
        ),
        rx.vstack(
            rx.text("Verify ownership to reply", weight="bold", size="2"),
            rx.text(WHY, size="2", color=rx.color("gray", 11)),
            spacing="1",
        ),
    )
    return rx.hstack(
        rx.icon(
            rx.cond(VerifyState.claim_status == "pending", "clock", "shield-alert"),
            size=20,
            color=rx.color("amber", 11),
            flex_shrink="0",
            margin_top="2px",
        ),
        rx.box(body, flex="1", min_width="0"),
        rx.cond(VerifyState.claim_status != "pending", button),
        _recheck_button(),
        id="verify-banner",
        align="start",
        spacing="3",
        wrap="wrap",
        padding="12px 16px",
        border_top=f"1px solid {rx.color('amber', 6)}",
        background=rx.color("amber", 2),
        width="100%",
    )


# --- /verify --------------------------------------------------------------------------------


def _status_card() -> rx.Component:
    return rx.match(
        VerifyState.claim_status,
        (
            "pending",
            rx.callout(
                rx.text(
                    "Under review since ",
                    VerifyState.claim_submitted,
                    ": ",
                    VerifyState.proof_name,
                    ". We will show the decision here and on your conversations.",
                ),
                icon="clock",
                color_scheme="amber",
                id="claim-status",
                data_status="pending",
            ),
        ),
        (
            "rejected",
            rx.callout(
                rx.text(
                    "Not accepted on ",
                    VerifyState.claim_decided,
                    ". Reason: ",
                    rx.text.strong(VerifyState.claim_reason),
                    ". Please send another document.",
                ),
                icon="circle-x",
                color_scheme="red",
                id="claim-status",
                data_status="rejected",
            ),
        ),
        (
            "approved",
            rx.callout(
                "Your ownership is verified. You can reply to operators in your conversations.",
                icon="badge-check",
                color_scheme="green",
                id="claim-status",
                data_status="approved",
            ),
        ),
        rx.fragment(),
    )


def _selected_file() -> rx.Component:
    return rx.foreach(
        rx.selected_files(PROOF_UPLOAD_ID),
        lambda name: rx.hstack(
            rx.icon("file-text", size=16),
            rx.text(name, size="2", weight="medium", id="proof-selected"),
            align="center",
            spacing="2",
        ),
    )


def _form() -> rx.Component:
    limit_mb = get_settings().max_attachment_bytes / (1024 * 1024)
    return rx.vstack(
        rx.heading("Send a proof of ownership", size="3"),
        rx.text(
            "A recent property tax bill, the deed, or a utility bill in your name for this "
            "address. ArbiBase staff check it by hand; only they and you can open it.",
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.upload.root(
            rx.vstack(
                rx.icon("upload", size=24, color=rx.color("accent", 10)),
                rx.text("Drop the file here, or click to choose", size="2", weight="medium"),
                rx.text(
                    f"PDF, photo (PNG, JPEG, WebP) or Word document, up to {limit_mb:g} MB",
                    size="1",
                    color=rx.color("gray", 11),
                ),
                _selected_file(),
                align="center",
                spacing="1",
            ),
            id=PROOF_UPLOAD_ID,
            multiple=False,
            max_files=1,
            accept=PROOF_ACCEPT,
            max_size=get_settings().max_attachment_bytes,
            on_drop_rejected=rx.toast.error(
                f"Choose one PDF, photo or Word document of at most {limit_mb:g} MB."
            ),
            border=f"2px dashed {rx.color('gray', 7)}",
            border_radius="12px",
            padding="24px 16px",
            width="100%",
            cursor="pointer",
        ),
        rx.text_area(
            placeholder="A note for the reviewer (optional), e.g. which property it is for",
            # Uncontrolled (no `value=`): a controlled one pulls in another frontend package.
            on_change=VerifyState.note_changed,
            max_length=1000,
            rows="3",
            width="100%",
            id=PROOF_NOTE_ID,
            aria_label="Note for the reviewer",
        ),
        rx.cond(
            VerifyState.submitting,
            rx.progress(value=VerifyState.upload_percent, max=100, width="100%"),
        ),
        rx.button(
            rx.icon("send", size=16),
            "Submit for review",
            id="submit-proof",
            size="3",
            loading=VerifyState.submitting,
            on_click=VerifyState.submit(
                rx.upload_files(
                    upload_id=PROOF_UPLOAD_ID, on_upload_progress=VerifyState.upload_progress
                )
            ),
            width=["100%", "auto"],
        ),
        spacing="3",
        width="100%",
    )


def _content() -> rx.Component:
    return rx.cond(
        SessionState.role == "owner",
        rx.vstack(
            _status_card(),
            rx.cond(
                needs_verification() & (VerifyState.claim_status != "pending"),
                _form(),
            ),
            rx.cond(VerifyState.claim_status == "pending", _recheck_button()),
            rx.link(
                rx.hstack(rx.icon("arrow-left", size=14), "Back to the inbox", align="center"),
                href=routes.INBOX,
                size="2",
            ),
            spacing="4",
            width="100%",
        ),
        rx.callout(
            "Ownership verification is for property owners. Operator accounts need none.",
            icon="info",
            id="claim-status",
        ),
    )


def verify_page() -> rx.Component:
    return rx.box(
        inbox_navbar(),
        rx.center(
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.icon("shield-check", size=28, color=rx.color("accent", 10)),
                        rx.heading("Verify ownership", size="6"),
                        align="center",
                        spacing="2",
                    ),
                    rx.text(
                        "Operators negotiate with owners ArbiBase has verified. Until then you "
                        "can read their messages but not reply.",
                        size="2",
                        color=rx.color("gray", 11),
                    ),
                    _content(),
                    spacing="4",
                    width="100%",
                ),
                width="100%",
                max_width="560px",
                size="3",
            ),
            padding=["12px", "32px 16px"],
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
