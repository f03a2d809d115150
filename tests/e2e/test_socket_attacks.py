"""Forged websocket events against the live server (issue "Security first").

The browser can call every public handler of every state with any payload. Here a raw
Socket.IO client (tests/e2e/rawsocket.py, no page) plays an anonymous visitor and a signed-in
stranger: it replays the penetration test's impersonation and inbox-reading chains, then
drives every handler on the allow-list (tests/test_event_surface.py) with the victims' ids,
thread, tags and text in every argument. Nothing of the victims' may come back, nothing may be
written, and the victims' thread must be exactly as it was.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.models import (
    MessagingAttachment,
    MessagingMessage,
    MessagingMessageEdit,
    MessagingOffer,
    MessagingThread,
    NotificationSettings,
    OwnerVerificationClaim,
    Participant,
    Property,
    ThreadTag,
    User,
)
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.login import LoginState
from arbibase_chat.pages.offer_confirm import OfferConfirmState
from arbibase_chat.pages.password_reset import ForgotState, ResetState
from arbibase_chat.pages.portfolio import PortfolioState
from arbibase_chat.pages.properties import PropertiesState
from arbibase_chat.pages.property import PropertyState
from arbibase_chat.pages.roi import RoiState
from arbibase_chat.pages.search import SearchState
from arbibase_chat.pages.settings import NotifyPrefs, SettingsState
from arbibase_chat.pages.staff import StaffState
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.pages.verify import VerifyState
from arbibase_chat.services import messages, offers, threads, verification
from arbibase_chat.session import SessionState
from tests import factories, files
from tests.e2e.rawsocket import ROOT, SESSION, RawTab, state_name
from tests.factories import Pair
from tests.test_event_surface import APP_HANDLERS, REFLEX_BUILTINS

SECRET_BODY = f"VICTIM-BODY-{uuid.uuid4().hex}"
SECRET_SUBJECT = f"VICTIM-SUBJECT-{uuid.uuid4().hex[:12]}"
SECRET_TAG = f"victim-tag-{uuid.uuid4().hex[:8]}"
SECRET_OFFER_NOTE = f"VICTIM-OFFER-{uuid.uuid4().hex[:12]}"
SECRET_NOTE = f"VICTIM-CLAIM-NOTE-{uuid.uuid4().hex[:12]}"
FORGED = f"FORGED-{uuid.uuid4().hex[:12]}"


@dataclass
class Scene:
    base: str
    engine: Engine
    pair: Pair
    operator_token: str
    stranger_token: str
    secrets: tuple[str, ...]
    offer_id: str
    claim_id: str  # an unverified owner's pending verification claim
    message_id: str  # the victims' secret message (editable by its sender only)

    @property
    def thread_id(self) -> str:
        return str(self.pair.thread_id)

    @property
    def thread_path(self) -> str:
        return f"/threads/{self.thread_id}"


def _login(base: str, email: str) -> str:
    response = httpx.post(
        f"{base}/api/auth/login", json={"email": email, "password": factories.PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def scene(live_server: str, e2e_database_url: str) -> Iterator[Scene]:
    """Victims: an operator and an owner negotiating, with a secret message, subject and tag,
    written in the live server's own database; and a stranger with an account of their own."""
    engine = dbmod.get_engine(e2e_database_url)
    pair = Pair(engine)
    secret = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body=SECRET_BODY, db=engine
    )
    threads.update_thread(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        subject=SECRET_SUBJECT,
        add_tags=[SECRET_TAG],
        db=engine,
    )
    offer = offers.send_offer(
        user_id=pair.operator.id,
        property_id=pair.property.id,
        terms={
            "monthlyRent": 2400,
            "leaseMonths": 12,
            "startDate": (date.today() + timedelta(days=30)).isoformat(),
        },
        message=SECRET_OFFER_NOTE,
        db=engine,
    )
    stranger = factories.user(engine, "operator")
    claimant = factories.user(engine, "owner", verified=False)
    claim = verification.submit_claim(
        user_id=claimant.id,
        filename="deed.pdf",
        source=io.BytesIO(files.pdf()),
        note=SECRET_NOTE,
        db=engine,
    )
    yield Scene(
        base=live_server,
        engine=engine,
        pair=pair,
        operator_token=_login(live_server, pair.operator.email),
        stranger_token=_login(live_server, stranger.email),
        # What must never reach anyone but the two of them: the conversation.
        secrets=(SECRET_BODY, SECRET_SUBJECT, SECRET_TAG, SECRET_OFFER_NOTE, SECRET_NOTE),
        offer_id=str(offer.offer_id),
        claim_id=str(claim.id),
        message_id=str(secret.id),
    )


def snapshot(scene: Scene) -> dict[str, Any]:
    """Everything a forged event could have written."""
    with scene.engine.connect() as conn:

        def count(model: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())

        thread = conn.execute(
            select(MessagingThread).where(col(MessagingThread.id) == scene.pair.thread_id)
        ).one()
        return {
            "messages": count(MessagingMessage),
            "threads": count(MessagingThread),
            "tags": sorted(
                conn.execute(
                    select(col(ThreadTag.tag)).where(
                        col(ThreadTag.thread_id) == scene.pair.thread_id
                    )
                ).scalars()
            ),
            "attachments": count(MessagingAttachment),
            "thread": (thread.status, thread.subject, thread.last_seq, thread.stage),
            "offers": sorted(
                (str(o.id), o.status, o.version) for o in conn.execute(select(MessagingOffer)).all()
            ),
            "properties": count(Property),
            "claims": sorted(
                conn.execute(
                    select(col(OwnerVerificationClaim.status), col(OwnerVerificationClaim.reason))
                ).all()
            ),
            "verified": sorted(conn.execute(select(col(User.verified))).scalars()),
            # Password resets (issue #13): no forged event changes anyone's password.
            "password_hashes": sorted(conn.execute(select(col(User.password_hash))).scalars()),
            # Edits and deletes: the victims' texts and stamps, and the audit.
            "message_texts": sorted(
                (str(m.id), m.body, m.edited_at, m.deleted_at)
                for m in conn.execute(
                    select(MessagingMessage).where(
                        col(MessagingMessage.thread_id) == scene.pair.thread_id
                    )
                ).all()
            ),
            "edits": count(MessagingMessageEdit),
            # Mutes and e-mail opt-outs (issue #12), archives (issue #13): only the caller's own.
            "mutes": sorted(
                (str(p.user_id), p.muted_until, p.archived_at)
                for p in conn.execute(
                    select(Participant).where(col(Participant.thread_id) == scene.pair.thread_id)
                ).all()
            ),
            "email_settings": sorted(
                (str(row.user_id), row.email_enabled)
                for row in conn.execute(
                    select(NotificationSettings).where(
                        col(NotificationSettings.user_id).in_(
                            [scene.pair.operator.id, scene.pair.owner.id]
                        )
                    )
                ).all()
            ),
        }


def assert_nothing_leaked(tab: RawTab, scene: Scene, what: str) -> None:
    pushed = tab.text()
    for secret in scene.secrets:
        assert secret not in pushed, f"{what}: the victims' {secret!r} reached the attacker"
    assert FORGED not in json.dumps(tab.messages(state_name(ChatState)))


async def _tab(scene: Scene, *, token: str, path: str | None = None) -> RawTab:
    tab = RawTab(scene.base, path=path or scene.thread_path, access_token=token)
    await tab.connect()
    await tab.settle(quiet=0.4)
    return tab


ROLES = ["anonymous", "stranger"]


def _token(scene: Scene, role: str) -> str:
    return "" if role == "anonymous" else scene.stranger_token


# --- the penetration test's two chains ---------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_impersonation_chain_is_refused(scene: Scene, role: str) -> None:
    """Finding 1: sign_in as the victim, load the victim's thread, send as the victim."""
    before = snapshot(scene)
    tab = await _tab(scene, token=_token(scene, role))
    try:
        victim = scene.pair.operator
        await tab.emit(
            SESSION,
            "sign_in",
            {
                "user": json.loads(victim.model_dump_json()),
                "access_token": "x",
            },
        )
        await tab.emit(state_name(ChatState), "load", {})
        await tab.emit(state_name(ChatState), "send", {"form_data": {"body": FORGED}})
        await tab.settle()
        assert_nothing_leaked(tab, scene, "sign_in → load → send")
        assert victim.display_name not in tab.text()
    finally:
        await tab.close()
    assert snapshot(scene) == before


@pytest.mark.parametrize("role", ROLES)
async def test_reading_another_inbox_is_refused(scene: Scene, role: str) -> None:
    """Finding 2: load, then `resync` with the victim's user id."""
    tab = await _tab(scene, token=_token(scene, role), path="/inbox")
    try:
        for victim in (scene.pair.operator, scene.pair.owner):
            await tab.emit(state_name(InboxState), "load", {})
            await tab.emit(state_name(InboxState), "resync", {"user_id": str(victim.id)})
            await tab.emit(state_name(ChatState), "resync", {"user_id": str(victim.id)})
        await tab.settle()
        assert_nothing_leaked(tab, scene, "inbox load → resync(victim)")
    finally:
        await tab.close()


@pytest.mark.parametrize("role", ROLES)
async def test_a_victims_offer_link_does_nothing_for_others(scene: Scene, role: str) -> None:
    """An e-mail's offer link (`/offers/<id>?action=accept`) opened by someone else: the page
    loads nothing of the offer (anonymous: the login page, coming back here), and confirming
    accepts or declines nothing."""
    before = snapshot(scene)
    state = state_name(OfferConfirmState)
    tab = await _tab(scene, token=_token(scene, role))
    try:
        for action in ("accept", "decline"):
            path = f"/offers/{scene.offer_id}?action={action}"
            await tab.emit(state, "load", {}, path=path)
            await tab.emit(state, "confirm", {"form_data": {"reason": FORGED}}, path=path)
        await tab.settle()
        assert_nothing_leaked(tab, scene, "offer link → load → confirm")
        assert not tab.var(state, "found")
        if role == "anonymous":
            assert any(r.startswith("/login?next=/offers/") for r in tab.redirects())
    finally:
        await tab.close()
    assert snapshot(scene) == before


# --- every allowed handler, with the victims' everything ---------------------------------------


def _hostile_arguments(scene: Scene, handler: str, params: list[str]) -> list[dict[str, Any]]:
    """Payloads for one handler: each parameter filled with the victims' data, and the same
    with extra arguments a handler does not take (user_id, thread_id)."""
    pair = scene.pair
    victim_ids = {
        "user_id": str(pair.operator.id),
        "thread_id": scene.thread_id,
        "owner_id": str(pair.owner.id),
    }
    form = {
        "body": FORGED,
        "tag": FORGED,
        "search": "VICTIM",  # echoed back as the search box's value: not a secret
        # Message search: the words of the victim's message (echoed back, not its text); a
        # stranger's results must not hold SECRET_BODY.
        "q": "VICTIM body",
        "email": pair.owner.email,
        "password": "not-their-password",
        "display_name": FORGED,
        "role": "operator",
        "offer_id": scene.offer_id,
        "stage": "lost",
        "reason": FORGED,
        "monthlyRent": "1",
        "leaseMonths": "1",
        "startDate": date.today().isoformat(),
        # The Property Browser's forms: a listing (refused: the stranger is an operator) and
        # rent bounds.
        "title": FORGED,
        "address": FORGED,
        "city": FORGED,
        "rent": "2400",
        "bedrooms": "3",
        "min_rent": "1",
        "max_rent": "999999",
        "property_id": str(pair.property.id),
        "claim_id": scene.claim_id,
        "message_id": scene.message_id,
        **victim_ids,
    }
    by_name: dict[str, Any] = {
        "form_data": form,
        "value": scene.thread_id,
        "status": "closed",
        "tag": SECRET_TAG,
        "client_msg_id": "upload-" + scene.thread_id,
        "files": [],
        "progress": {"progress": 0.5},
        "var_name": "open_id",
        "vars": {f"{SESSION}.access_token": scene.operator_token[:-4] + "AAAA"},
        "info": FORGED,
        "stack": FORGED,
        "component_stack": FORGED,
        "offer_id": scene.offer_id,
        "action": "accept",
        "key": "monthlyRent",
        "claim_id": scene.claim_id,
        "open": True,
        "message_id": scene.message_id,
        "on": True,  # the notification switches (the e-mail one writes the caller's own row)
        "duration": "forever",
        **victim_ids,
    }
    filled = {name: by_name.get(name, scene.thread_id) for name in params}
    variants = [filled, {**filled, **victim_ids}]
    if handler == "update_input":
        # Backend-only and unknown names, wrong types, text far over the field's limit.
        variants += [
            {"key": "_valid", "value": FORGED},
            {"key": "__class__", "value": FORGED},
            {"key": ["adr"], "value": {"adr": 1}},
            {"key": "adr", "value": 150},
            {"key": "adr", "value": "9" * 5000},
        ]
    if handler == "suggest_replies":
        # It takes no argument: the thread is the tab's own open_id (a forged one through
        # setvar is tried below), the service checks the caller again. Forged extras anyway.
        variants += [
            {"threadId": scene.thread_id},
            {"text": FORGED, "intent": "counter", "send": True},
        ]
    if handler == "confirm":
        # The offer link's confirm: the offer and the step come from what `load` read, never
        # from the payload; a form that is not one, a reason that is not text.
        variants += [
            {"form_data": {"reason": FORGED, "offer_id": scene.offer_id, "action": "accept"}},
            {"form_data": "accept"},
            {"form_data": {"reason": ["x"] * 3}},
        ]
    if handler == "set_password":
        # The reset link's token is the only credential: made-up ones, a matching pair of
        # passwords, a form that is not one, values that are not text.
        good = "a long enough password"
        variants += [
            {"form_data": {"password": good, "confirm": good, "token": "0" * 64}},
            {"form_data": {"password": good, "confirm": good, **victim_ids}},
            {"form_data": "reset"},
            {"form_data": {"password": [good], "confirm": [good]}},
        ]
    if handler == "request_link":
        variants += [{"form_data": {"email": [pair.owner.email]}}, {"form_data": None}]
    if handler == "set_permission":
        variants += [{"value": "granted"}, {"value": ["denied"]}, {"value": FORGED}]
    if handler == "setvar":
        variants += [
            {"var_name": name, "value": value}
            for name, value in (
                ("open_id", scene.thread_id),
                ("_user_id", str(pair.operator.id)),
                ("_me", str(pair.operator.id)),
                ("_viewer", str(pair.operator.id)),
                ("display_name", pair.operator.display_name),
                ("verified", True),
            )
        ]
    return variants


def _handler_params(state_cls: Any, handler: str) -> list[str]:
    fn = state_cls.event_handlers[handler].fn
    return [p for p in inspect.signature(fn).parameters if p != "self"]


def _every_allowed_handler() -> list[tuple[str, str]]:
    classes = {
        state_name(cls): cls
        for cls in (
            SessionState,
            LoginState,
            InboxState,
            ChatState,
            PortfolioState,
            PropertiesState,
            PropertyState,
            RoiState,
            VerifyState,
            StaffState,
            OfferConfirmState,
            SettingsState,
            ForgotState,
            ResetState,
            NotifyPrefs,
            SearchState,
        )
    }
    pairs = [(state, name) for state, names in APP_HANDLERS.items() for name in sorted(names)]
    pairs += [(state, "setvar") for state in APP_HANDLERS]
    pairs += [(ROOT, name) for name in sorted(REFLEX_BUILTINS[ROOT]) if name != "hydrate"]
    for state, names in REFLEX_BUILTINS.items():
        if state != ROOT:
            pairs += [(state, name) for name in sorted(names) if name != "setvar"]
    assert all(state in classes or state in REFLEX_BUILTINS for state, _ in pairs)
    return pairs


@pytest.mark.parametrize("role", ROLES)
async def test_every_allowed_handler_with_the_victims_ids(scene: Scene, role: str) -> None:
    from reflex.state import State

    from tests.test_event_surface import _states

    by_name = {cls.get_full_name(): cls for cls in _states(State)}
    before = snapshot(scene)
    token = _token(scene, role)
    tab = await _tab(scene, token=token)
    driven = []
    try:
        for state, handler in _every_allowed_handler():
            params = _handler_params(by_name[state], handler)
            for payload in _hostile_arguments(scene, handler, params):
                await tab.emit(state, handler, payload)
            await tab.settle(quiet=0.25, limit=4.0)
            assert_nothing_leaked(tab, scene, f"{state.rsplit('.', 1)[-1]}.{handler}")
            driven.append(handler)
            if tab.disconnected or handler == "log_out":
                # Reconnect as the same visitor (log_out ends the stranger's own session).
                await tab.close()
                tab = await _tab(scene, token=token)
        await tab.settle()
        assert_nothing_leaked(tab, scene, "after every handler")
    finally:
        await tab.close()
    assert snapshot(scene) == before
    assert len(driven) >= sum(len(n) for n in APP_HANDLERS.values())


# --- identity follows the token on reconnect ---------------------------------------------------


async def test_a_reconnect_with_another_token_shows_nothing_of_the_previous_user(
    scene: Scene,
) -> None:
    """Finding 3: the same client token, hydrated again with garbage / another user's token."""
    victim = await _tab(scene, token=scene.operator_token)
    try:
        await victim.settle()
        assert SECRET_SUBJECT in victim.text()  # the victim sees their own thread
        client_token = victim.client_token
    finally:
        await victim.close()

    for token, who in (("garbage", "garbage"), (scene.stranger_token, "stranger"), ("", "none")):
        tab = RawTab(
            scene.base, path=scene.thread_path, access_token=token, client_token=client_token
        )
        await tab.connect()
        await tab.settle()
        try:
            assert_nothing_leaked(tab, scene, f"reconnect with {who}")
            if who != "stranger":
                assert "/login" in tab.redirects()
        finally:
            await tab.close()


async def test_oversized_frames_and_sends_are_refused(scene: Scene) -> None:
    """Finding 12: a message over the limit is refused before it is kept in state, and a
    frame over the socket's bound closes that socket (the server keeps serving)."""
    tab = await _tab(scene, token=scene.operator_token)
    try:
        await tab.emit(state_name(ChatState), "send", {"form_data": {"body": "x" * 10_001}})
        await tab.settle()
        items = tab.messages(state_name(ChatState))
        assert all(len(json.dumps(item)) < 20_000 for item in items)
        assert "limited to 10,000 characters" in tab.text()
        await tab.emit(state_name(ChatState), "send", {"form_data": {"body": "y" * 800_000}})
        await tab.settle()
        assert tab.disconnected
    finally:
        await tab.close()
    # Nothing was stored, and the server still answers.
    assert httpx.get(f"{scene.base}/ping").status_code == 200
    again = await _tab(scene, token=scene.operator_token)
    await again.close()


async def test_secrets_never_reach_the_server_log(scene: Scene, live_server_log: Any) -> None:
    """Finding 10: an unknown handler makes Reflex log the event (payload and headers)."""
    password = f"pw-{uuid.uuid4().hex}"
    tab = await _tab(scene, token=scene.stranger_token)
    try:
        await tab.emit(state_name(ChatState), "no_such_handler", {"password": password})
        await tab.emit(SESSION, "setvar", {"var_name": "password", "value": password})
        await tab.settle()
    finally:
        await tab.close()
    await asyncio.sleep(0.5)
    log = live_server_log.read_text(errors="replace")
    assert "no_such_handler" in log  # the failure itself is logged...
    assert password not in log  # ...without the payload's secret
    assert scene.stranger_token not in log
    assert scene.stranger_token.split(".")[1] not in log
