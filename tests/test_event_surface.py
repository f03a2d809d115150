"""The browser can call every event handler of every state, with any payload.

Reflex turns each public method of a state class into such a handler (decorated or not), so
this list is the app's whole websocket attack surface. A new public method fails here until
someone decides it is safe to call from a forged socket with another user's ids, adds it
below, and adds it to the raw-socket attack test (tests/e2e/test_socket_attacks.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from reflex.state import BaseState, State

import arbibase_chat.arbibase_chat  # noqa: F401  (registers every page state)
from arbibase_chat.session import SessionState

# Reflex's own handlers: hydration, on_load dispatch, client-storage sync, the frontend's
# exception report, and `setvar` (which only calls `set_<var>` setters: the app has none,
# `state_auto_setters` is off, so it fails for every var; checked below).
REFLEX_BUILTINS = {
    "reflex___state____state": {"hydrate", "hydrate_and_load", "set_is_hydrated", "setvar"},
    "reflex___state____state.reflex___istate___shared____shared_state_base_internal": {"setvar"},
    "reflex___state____state.reflex___state____frontend_event_exception_state": {
        "handle_frontend_exception",
        "setvar",
    },
    "reflex___state____state.reflex___state____on_load_internal_state": {
        "on_load_internal",
        "set_is_hydrated",
        "setvar",
    },
    "reflex___state____state.reflex___state____update_vars_internal_state": {
        "setvar",
        "update_vars_internal",
    },
}

# The app's handlers: each takes identity from SessionState only and is attacked over a raw
# socket in tests/e2e/test_socket_attacks.py.
APP_HANDLERS = {
    "reflex___state____state.arbibase_chat___session____session_state": {
        "log_out",
        "redirect_if_signed_in",
        "route_home",
    },
    "reflex___state____state.arbibase_chat___pages___login____login_state": {
        "clear_error",
        "log_in",
        "sign_up",
    },
    # Forgotten passwords: no identity at all; the reset link's token is the credential and
    # the service checks it; /forgot says the same for every address.
    "reflex___state____state.arbibase_chat___pages___password_reset____forgot_state": {
        "load",
        "request_link",
    },
    "reflex___state____state.arbibase_chat___pages___password_reset____reset_state": {
        "load",
        "set_password",
    },
    "reflex___state____state.arbibase_chat___pages___inbox____inbox_state": {
        "clear_search",
        "load",
        # The navbar's own total for pages without the list (verify, staff); no argument.
        "load_badge",
        "load_more",
        "run_search",
        "set_role_filter",
        "set_stage_filter",
        "set_status_filter",
        "set_tag_filter",
    },
    "reflex___state____state.arbibase_chat___pages___portfolio____portfolio_state": {"load"},
    # The Property Browser: filters take only listed values; `list_property` is refused to
    # operators by the service; `message_owner` takes no argument (the property is the one
    # `load` read from the page's URL).
    "reflex___state____state.arbibase_chat___pages___properties____properties_state": {
        "apply_rent",
        "clear_filters",
        "list_property",
        "load",
        "load_more",
        "set_bedrooms",
        "set_city",
        "set_form_open",
        "set_scope",
    },
    "reflex___state____state.arbibase_chat___pages___property____property_state": {
        "load",
        "message_owner",
    },
    # Pure math on the user's own typed text; load reads a listing any signed-in user may see.
    "reflex___state____state.arbibase_chat___pages___roi____roi_state": {
        "load",
        "send_offer",
        "start_over",
        "update_input",
    },
    "reflex___state____state.arbibase_chat___pages___thread____chat_state": {
        "add_tag",
        "ask",
        # Edit / delete my own message: the id names one of my bubbles; whose it is, its kind
        # and its window are services/message_edits.py's to decide.
        "ask_delete",
        "cancel_confirm",
        "cancel_delete",
        "cancel_edit",
        # Close / reopen ask first (pages/thread_status.py): no argument; the status asked for
        # is the tab's own, set by set_status, and the service checks the thread is mine.
        "cancel_status",
        "close",
        "close_counter",
        "close_decline",
        "close_lost",
        "composer_changed",
        "confirm",
        "confirm_delete",
        "confirm_status",
        "counter",
        "decline",
        "load",
        "load_older",
        # Mute my open thread: a duration from the menu's choices (the service checks it and
        # that the thread, the tab's own open_id, is mine); unmute takes no argument.
        "mute",
        "open_counter",
        "open_decline",
        "open_lost",
        "remove_tag",
        "retry",
        "save_edit",
        "send",
        "set_stage",
        "start_edit",
        "set_status",
        # AI reply suggestions: the service decides (operator, plan, rate limit); no argument.
        "suggest_replies",
        "tab_hidden",
        "tab_shown",
        "unmute",
        "upload",
        "upload_progress",
    },
    # Owner verification: the service decides who may submit (unverified owners) and checks
    # the file; the upload reaches it only through http_guard's checks.
    "reflex___state____state.arbibase_chat___pages___verify____verify_state": {
        "load",
        "note_changed",
        "recheck",
        "submit",
        "upload_progress",
    },
    # An e-mail's offer link: `load` only reads the URL's offer as the signed-in user;
    # `confirm` takes only the form's reason, the offer and the step are what `load` read, and
    # offers.accept_offer / decline_offer decide again who may.
    "reflex___state____state.arbibase_chat___pages___offer_confirm____offer_confirm_state": {
        "confirm",
        "load",
    },
    # Notifications (/settings): this browser's own switches, kept in its localStorage; the
    # values are checked (a bool, a known permission) and name nobody.
    "reflex___state____state.arbibase_chat___pages___settings____notify_prefs": {
        "set_desktop",
        "set_permission",
        "set_sound",
    },
    # Message search: `load` reads the URL's `?q=`, `submit` the form's `q`; the words go to
    # services/search.py as the signed-in user, who finds only their own threads' messages.
    # `leave` (the page unmounts) clears this tab's own search and takes nothing.
    "reflex___state____state.arbibase_chat___pages___search____search_state": {
        "leave",
        "load",
        "submit",
    },
    # My e-mail opt-out: a bool, for the signed-in user only (services/notification_settings).
    "reflex___state____state.arbibase_chat___pages___settings____settings_state": {
        "load",
        "set_email",
    },
    # Staff review: every decision is the service's (staff only); others load nothing.
    "reflex___state____state.arbibase_chat___pages___staff____staff_state": {
        "approve",
        "load",
        "open_reject",
        "reject",
        "reject_dialog_changed",
    },
}


def _states(cls: type[BaseState]) -> Iterator[type[BaseState]]:
    yield cls
    for sub in cls.get_substates():
        yield from _states(sub)


def registered_handlers() -> dict[str, set[str]]:
    """Every (state, handler) the event processor would run, from Reflex's own registry."""
    return {
        cls.get_full_name(): set(cls.event_handlers) for cls in _states(State) if cls.event_handlers
    }


def allowed_handlers() -> dict[str, set[str]]:
    # Every state has Reflex's `setvar` (see REFLEX_BUILTINS).
    allowed: dict[str, set[str]] = {name: {"setvar"} for name in APP_HANDLERS}
    for table in (REFLEX_BUILTINS, APP_HANDLERS):
        for state, names in table.items():
            allowed.setdefault(state, set()).update(names)
    return allowed


def test_every_event_handler_is_on_the_allow_list() -> None:
    registered = registered_handlers()
    allowed = allowed_handlers()
    surprises = {
        state: sorted(names - allowed.get(state, set()))
        for state, names in registered.items()
        if names - allowed.get(state, set())
    }
    assert not surprises, (
        "public state methods are event handlers the browser can call with any payload; make "
        f"these private (_name) or allow them after a review: {surprises}"
    )
    stale = {
        state: sorted(names - registered.get(state, set()))
        for state, names in allowed.items()
        if names - registered.get(state, set())
    }
    assert not stale, f"allow-listed handlers that no longer exist: {stale}"


def test_the_pen_test_handlers_are_gone() -> None:
    """The handlers the penetration test called to impersonate users and read inboxes."""
    registered = registered_handlers()
    for state, names in registered.items():
        for forbidden in ("sign_in", "current_user_id", "zone", "apply", "resync", "deliver"):
            assert forbidden not in names, f"{state}.{forbidden} is callable from the browser"


def test_setvar_can_set_nothing_of_ours() -> None:
    """`setvar(name, value)` calls `set_<name>`: no state of the app may have one."""
    for cls in _states(State):
        if not cls.get_full_name().startswith("reflex___state____state.arbibase_chat"):
            continue
        own = {name for klass in cls.__mro__ if klass not in State.__mro__ for name in vars(klass)}
        setters = [name for name in own if name.startswith("set_")]
        handlers = set(cls.event_handlers)
        # A setter that is also an allow-listed handler (e.g. set_status) validates its input.
        assert set(setters) <= handlers, f"{cls.__name__} has setters {setters}"


def test_identity_is_backend_only() -> None:
    """The user id and the verified token never reach the browser (backend vars)."""
    sent = set(SessionState.base_vars) | set(SessionState.computed_vars)
    assert sent == {
        "access_token",  # the browser's own cookie
        "time_zone",
        "display_name",
        "email",
        "role",
        "tier",
        "verified",
        "is_staff",  # for the UI only; the services decide who is staff
        "signed_in",
    }
    fields = set(SessionState.get_fields())
    assert {"_user_id", "_token", "_expires_at", "_checked_at"} <= fields - sent
