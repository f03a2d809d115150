"""The Reflex app: pages and their routes. Rules live in services/, not here."""

import reflex as rx

from arbibase_chat import admission, log_redaction, routes
from arbibase_chat.api import api_app
from arbibase_chat.components import offline_banner
from arbibase_chat.http_guard import ASGIApp as HttpGuardApp
from arbibase_chat.http_guard import HttpGuard
from arbibase_chat.mail.inbound import lifespan as inbound_mail_lifespan
from arbibase_chat.maintenance import lifespan as maintenance_lifespan
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.inbox_view import inbox_page
from arbibase_chat.pages.login import LoginState, login_page, signup_page
from arbibase_chat.pages.not_found import not_found_page
from arbibase_chat.pages.offer_confirm import OfferConfirmState
from arbibase_chat.pages.offer_confirm_view import offer_confirm_page
from arbibase_chat.pages.password_reset import ForgotState, ResetState
from arbibase_chat.pages.password_reset_view import forgot_page, reset_page
from arbibase_chat.pages.portfolio import PortfolioState
from arbibase_chat.pages.portfolio_view import portfolio_page
from arbibase_chat.pages.properties import PropertiesState
from arbibase_chat.pages.properties_view import properties_page
from arbibase_chat.pages.property import PropertyState
from arbibase_chat.pages.property_view import property_page
from arbibase_chat.pages.roi import RoiState
from arbibase_chat.pages.roi_view import roi_page
from arbibase_chat.pages.search import SearchState
from arbibase_chat.pages.search_view import search_page
from arbibase_chat.pages.settings import SettingsState
from arbibase_chat.pages.settings_view import settings_page
from arbibase_chat.pages.staff import StaffState, staff_page
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.pages.thread_view import thread_page
from arbibase_chat.pages.verify import VerifyState
from arbibase_chat.pages.verify_view import verify_page
from arbibase_chat.realtime.delivery import lifespan as realtime_lifespan
from arbibase_chat.session import IdentityOnHydrate, SessionState


def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh")


# Before anything else logs: Reflex logs failed events whole (payload, cookie header).
log_redaction.install()


def _guarded(asgi_app: HttpGuardApp) -> HttpGuardApp:
    return HttpGuard(
        asgi_app,
        upload_handlers=(
            f"{ChatState.get_full_name()}.upload",
            f"{VerifyState.get_full_name()}.submit",
        ),
    )


# The Radix theme is configured in rxconfig.py (RadixThemesPlugin), not with App(theme=...).
# The REST API mounts Reflex's backend inside itself; HttpGuard then wraps everything
# (Reflex's own upload route and socket, security headers on every response).
app = rx.App(
    api_transformer=[api_app, _guarded],
    # Top-center: a toast never covers the composer or its Send button at the bottom.
    toaster=rx.toast.provider(position="top-center", close_button=True),
)
# The offline line instead of Reflex's connection toast and corner icon (components/
# offline_banner.py); the same slot, so the error boundary and the rest stay as they are.
app.app_wraps[(5, "Overlay")] = offline_banner.overlay
# Browser-side chat behaviour (Enter to send, autoscroll, visibility): see assets/chat.js.
# A reconnecting tab whose cookie changed loses the old identity before its state is sent.
app.add_middleware(IdentityOnHydrate())
# An overloaded worker refuses a send before Reflex loads the tab's state (admission.py).
admission.install(app, f"{ChatState.get_full_name()}.send")
app.head_components.append(rx.script(src="/chat.js"))
# Notifications (issue #12): the unread total in the title and on the favicon, desktop
# notifications and sound for new messages (assets/notify.js; settings on /settings).
app.head_components.append(rx.script(src="/notify.js"))
# Message search (issue #14): a thread opened at one message scrolls to it (assets/jump.js).
app.head_components.append(rx.script(src="/jump.js"))
# The icon notify.js badges; /favicon.ico is there too for browsers that ask for it anyway.
app.head_components.append(
    rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml", id="favicon")
)
app.add_page(index, route=routes.HOME, title="ArbiBase Chat", on_load=SessionState.route_home)
app.add_page(
    login_page,
    route=routes.LOGIN,
    title="Log in · ArbiBase Chat",
    on_load=[SessionState.redirect_if_signed_in, LoginState.clear_error],
)
app.add_page(
    signup_page,
    route=routes.SIGNUP,
    title="Sign up · ArbiBase Chat",
    on_load=[SessionState.redirect_if_signed_in, LoginState.clear_error],
)
# Forgotten passwords (issue #13): ask for a link, then set a new password with it.
app.add_page(
    forgot_page,
    route=routes.FORGOT,
    title="Forgot password · ArbiBase Chat",
    on_load=ForgotState.load,
)
app.add_page(
    reset_page,
    route=routes.RESET,
    title="Choose a new password · ArbiBase Chat",
    on_load=ResetState.load,
)
# Leaving a thread stops showing it live (ChatState.close) before anything else loads: a
# message arriving while the next page queries is not read on arrival by a thread left.
app.add_page(
    inbox_page,
    route=routes.INBOX,
    title="Inbox · ArbiBase Chat",
    on_load=[ChatState.close, InboxState.load],
)
app.add_page(
    thread_page,
    route=routes.THREAD,
    title="Conversation · ArbiBase Chat",
    on_load=[InboxState.load, ChatState.load, VerifyState.load],
)
app.add_page(
    verify_page,
    route=routes.VERIFY,
    title="Verify ownership · ArbiBase Chat",
    on_load=[ChatState.close, VerifyState.load, InboxState.load_badge],
)
app.add_page(
    staff_page,
    route=routes.STAFF_VERIFICATIONS,
    title="Verifications · ArbiBase Chat",
    on_load=[ChatState.close, StaffState.load, InboxState.load_badge],
)
app.add_page(
    settings_page,
    route=routes.SETTINGS,
    title="Settings · ArbiBase Chat",
    on_load=[ChatState.close, SettingsState.load],
)
app.add_page(
    search_page,
    route=routes.SEARCH,
    title="Search messages · ArbiBase Chat",
    on_load=[ChatState.close, SearchState.load],
)
app.add_page(
    portfolio_page,
    route=routes.PORTFOLIO,
    title="Portfolio · ArbiBase Chat",
    on_load=[ChatState.close, PortfolioState.load],
)
# The Property Browser.
app.add_page(
    properties_page,
    route=routes.PROPERTIES,
    title="Properties · ArbiBase Chat",
    on_load=[ChatState.close, PropertiesState.load],
)
app.add_page(
    property_page,
    route=routes.PROPERTY,
    title="Property · ArbiBase Chat",
    on_load=[ChatState.close, PropertyState.load],
)
app.add_page(
    roi_page,
    route=routes.ROI,
    title="ROI Calculator · ArbiBase Chat",
    on_load=[ChatState.close, RoiState.load],
)
# An e-mail's offer link: a confirmation page; loading it changes nothing.
app.add_page(
    offer_confirm_page,
    route=routes.OFFER,
    title="Offer · ArbiBase Chat",
    on_load=[ChatState.close, OfferConfirmState.load],
)
# Unknown addresses (Reflex's "404" route): a styled page with a way back to the inbox.
app.add_page(not_found_page, route="404", title="Page not found · ArbiBase Chat")
# One realtime hub per worker: services' committed events → connected sessions.
app.register_lifespan_task(realtime_lifespan)
# Housekeeping: uploads never sent in a message are swept after their grace period.
app.register_lifespan_task(maintenance_lifespan)
# Replies by e-mail: the inbound SMTP listener, when INBOUND_SMTP_PORT is set.
app.register_lifespan_task(inbound_mail_lifespan)
