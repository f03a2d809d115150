"""The top bar on every signed-in page: brand, the app's pages (Inbox with its unread total),
who I am, light/dark, log out.

It never wraps: on phones the brand shows its icon only and the links their icons (with
`aria-label`s); labels come back on wider screens. The current page is marked from the
router's route (`aria-current="page"`), so a new page only needs a `NAV_ITEMS` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.session import SessionState

#: The navbar's height; `two_pane.PANE_HEIGHT` fills the rest of the screen below it.
HEIGHT = "57px"
# Responsive `display` values (Reflex breakpoints: phone, ≥30em, ≥48em, ≥62em).
FROM_SMALL = ["none", "inline", "inline"]
FROM_TABLET = ["none", "none", "inline"]
FROM_DESKTOP = ["none", "none", "none", "flex"]


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    icon: str
    href: str
    prefixes: tuple[str, ...]  # routes under which this item is the current page
    # Who sees it: everyone, operators, owners not verified yet, or staff accounts.
    audience: str = "all"


NAV_ITEMS = (
    NavItem("inbox", "Inbox", "inbox", routes.INBOX, (routes.INBOX, routes.THREAD_PREFIX)),
    NavItem("properties", "Properties", "building-2", routes.PROPERTIES, (routes.PROPERTIES,)),
    NavItem("portfolio", "Portfolio", "briefcase", routes.PORTFOLIO, (routes.PORTFOLIO,)),
    NavItem("roi", "ROI", "calculator", routes.ROI, (routes.ROI,), audience="operators"),
    NavItem(
        "verify", "Verify", "badge-check", routes.VERIFY, (routes.VERIFY,), audience="unverified"
    ),
    NavItem(
        "staff",
        "Claims",
        "shield-check",
        routes.STAFF_VERIFICATIONS,
        (routes.STAFF_VERIFICATIONS,),
        audience="staff",
    ),
    NavItem("settings", "Settings", "settings", routes.SETTINGS, (routes.SETTINGS,)),
)


def unread_badge(count: Any, **props: Any) -> rx.Component:
    """A red count, hidden at zero (`count` is an int Var)."""
    return rx.cond(
        count > 0,
        rx.badge(count, color_scheme="red", variant="solid", radius="full", **props),
    )


def _is_current(item: NavItem) -> Any:
    path = rx.State.router.page.path
    current = path.startswith(item.prefixes[0])
    for prefix in item.prefixes[1:]:
        current = current | path.startswith(prefix)
    return current


def _nav_link(item: NavItem, unread_total: Any) -> rx.Component:
    current = _is_current(item)
    link = rx.link(
        rx.hstack(
            rx.icon(item.icon, size=18),
            rx.text(item.label, size="2", weight="medium", display=FROM_TABLET),
            unread_badge(unread_total, id="nav-unread-total") if item.key == "inbox" else None,
            align="center",
            spacing="1",
            white_space="nowrap",
        ),
        href=item.href,
        id=f"nav-{item.key}",
        aria_label=item.label,
        title=item.label,
        custom_attrs={"aria-current": rx.cond(current, "page", "false")},
        underline="none",
        color=rx.cond(current, rx.color("accent", 11), rx.color("gray", 11)),
        background=rx.cond(current, rx.color("accent", 3), "transparent"),
        font_weight=rx.cond(current, "600", "500"),
        padding="6px 8px",
        border_radius="6px",
        flex_shrink="0",
        _hover={"background": rx.color("gray", 3), "color": rx.color("gray", 12)},
    )
    shown = {
        "operators": SessionState.role == "operator",
        "unverified": (SessionState.role == "owner") & ~SessionState.verified,
        "staff": SessionState.is_staff,
    }.get(item.audience)
    return link if shown is None else rx.cond(shown, link)


def notify_state(unread_total: Any, alert: Any) -> rx.Component:
    """What assets/notify.js reads: the unread total (tab title, favicon badge) and the newest
    message to notify about (JSON; "" for none). Never shown."""
    return rx.el.div(
        id="notify-state",
        hidden=True,
        custom_attrs={"data-unread": unread_total, "data-alert": alert},
    )


def navbar(unread_total: Any, alert: Any = "") -> rx.Component:
    return rx.hstack(
        notify_state(unread_total, alert),
        rx.link(
            rx.hstack(
                rx.icon("messages-square", size=22),
                rx.heading("ArbiBase Chat", size="4", display=FROM_SMALL, white_space="nowrap"),
                align="center",
                spacing="2",
            ),
            href=routes.INBOX,
            underline="none",
            color=rx.color("gray", 12),
            aria_label="ArbiBase Chat home",
            flex_shrink="0",
            margin_right="8px",
        ),
        rx.hstack(
            *[_nav_link(item, unread_total) for item in NAV_ITEMS],
            align="center",
            spacing="1",
            custom_attrs={"role": "navigation", "aria-label": "Main"},
            flex_wrap="nowrap",
        ),
        rx.spacer(),
        rx.hstack(
            rx.text(SessionState.display_name, size="2", id="nav-user-name", white_space="nowrap"),
            rx.badge(SessionState.role, variant="soft"),
            # An operator's plan (the tier decides what their threads include).
            rx.cond(
                SessionState.role == "operator",
                rx.badge(
                    SessionState.tier,
                    variant="outline",
                    color_scheme=rx.cond(SessionState.tier == "beta", "gray", "violet"),
                    id="nav-tier",
                    title="Your plan",
                ),
            ),
            align="center",
            spacing="2",
            display=FROM_DESKTOP,
        ),
        rx.color_mode.button(variant="ghost", size="2", aria_label="Light or dark"),
        rx.button(
            rx.icon("log-out", size=16),
            rx.text("Log out", display=FROM_TABLET),
            variant="soft",
            size="2",
            on_click=SessionState.log_out,
            aria_label="Log out",
            id="log-out",
            flex_shrink="0",
        ),
        align="center",
        width="100%",
        height=HEIGHT,
        flex_wrap="nowrap",
        spacing="2",
        padding_x=["8px", "16px"],
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        position="sticky",
        top="0",
        z_index="10",
        overflow="hidden",
        id="navbar",
    )
