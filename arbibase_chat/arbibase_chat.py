"""The Reflex app: pages and their routes. Rules live in services/, not here."""

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.api import api_app
from arbibase_chat.pages.inbox import InboxState, inbox_page
from arbibase_chat.pages.login import login_page, signup_page
from arbibase_chat.pages.thread import ChatState, thread_page
from arbibase_chat.realtime.delivery import lifespan as realtime_lifespan
from arbibase_chat.session import SessionState


def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh")


# The Radix theme is configured in rxconfig.py (RadixThemesPlugin), not with App(theme=...).
app = rx.App(api_transformer=api_app)
# Browser-side chat behaviour (Enter to send, autoscroll, visibility): see assets/chat.js.
app.head_components.append(rx.script(src="/chat.js"))
app.add_page(index, route=routes.HOME, title="ArbiBase Chat", on_load=SessionState.route_home)
app.add_page(
    login_page,
    route=routes.LOGIN,
    title="Log in · ArbiBase Chat",
    on_load=SessionState.redirect_if_signed_in,
)
app.add_page(
    signup_page,
    route=routes.SIGNUP,
    title="Sign up · ArbiBase Chat",
    on_load=SessionState.redirect_if_signed_in,
)
app.add_page(
    inbox_page,
    route=routes.INBOX,
    title="Inbox · ArbiBase Chat",
    on_load=[InboxState.load, ChatState.close],
)
app.add_page(
    thread_page,
    route=routes.THREAD,
    title="Conversation · ArbiBase Chat",
    on_load=[InboxState.load, ChatState.load],
)
# One realtime hub per worker: services' committed events → connected sessions.
app.register_lifespan_task(realtime_lifespan)
