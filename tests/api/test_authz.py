"""Authorization matrix: every route x operator, owner, stranger (another operator), other
owner (of another property, in another thread) and anonymous.

A stranger's answer on another pair's thread or file is 404 with the very body a missing id
gets, and nothing changes. Anonymous callers get the seed's 401 `{"error": "Unauthorized"}`.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from arbibase_chat import db as dbmod
from arbibase_chat.services import attachments, email_tokens, messages, offers, verification
from tests import files
from tests.api.conftest import Actor, World
from tests.factories import PASSWORD, user

ACTORS = ("operator", "owner", "stranger", "other_owner", "anonymous")


@dataclass
class Ctx:
    world: World
    message_id: str
    attachment_id: str
    image_id: str
    offer_id: str
    claim_id: str  # an unverified owner's claim (none of the actors, none of them staff)
    email_token: str  # the owner's e-mail token for the pair's thread (unsubscribe link)

    @property
    def thread(self) -> str:
        return self.world.thread_id


@dataclass
class Call:
    op: str  # "METHOD /path/{template}" as in the OpenAPI schema
    path: Callable[[Ctx], str]
    json: Callable[[Ctx], Any] | None = None
    upload: bool = False
    # Thread/file-scoped: the id in the path can be swapped for a missing one.
    scoped: Callable[[Ctx, str], str] | None = None
    expected: dict[str, int] = field(default_factory=dict)
    html: bool = False  # answers a page (text/html), not JSON

    @property
    def method(self) -> str:
        return self.op.split(" ", 1)[0]


def _signup(_ctx: Ctx) -> dict[str, str]:
    return {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "password": "a long enough password",
        "role": "operator",
        "display_name": "New",
    }


def _property(_ctx: Ctx) -> dict[str, Any]:
    return {"title": "Loft", "address": "1 Main St", "city": "Tampa"}


def _codes(operator: int, owner: int, stranger: int, other_owner: int, anon: int) -> dict:
    return dict(zip(ACTORS, (operator, owner, stranger, other_owner, anon), strict=True))


THREAD_SCOPED = _codes(200, 200, 404, 404, 401)
OFFER_TERMS = {
    "monthlyRent": 2400,
    "leaseMonths": 12,
    "startDate": (date.today() + timedelta(days=30)).isoformat(),
}
SIGNED_IN = _codes(200, 200, 200, 200, 401)

CALLS: dict[str, Call] = {
    "signup": Call(
        "POST /api/auth/signup", lambda c: "/api/auth/signup", _signup, expected=_codes(*[201] * 5)
    ),
    "login": Call(
        "POST /api/auth/login",
        lambda c: "/api/auth/login",
        lambda c: {"email": c.world.operator.user.email, "password": PASSWORD},
        expected=_codes(*[200] * 5),
    ),
    # Anyone may ask (the answer never says whether the address has an account); a bearer
    # token changes nothing, and without the e-mail's token nobody sets a password.
    "password_reset": Call(
        "POST /api/auth/password-reset",
        lambda c: "/api/auth/password-reset",
        lambda c: {"email": c.world.owner.user.email},
        expected=_codes(*[202] * 5),
    ),
    "password_reset_confirm": Call(
        "POST /api/auth/password-reset/confirm",
        lambda c: "/api/auth/password-reset/confirm",
        lambda c: {"token": "0" * 64, "password": "a long enough password"},
        expected=_codes(*[400] * 5),
    ),
    "me": Call("GET /api/me", lambda c: "/api/me", expected=SIGNED_IN),
    # Everyone signed in may search; what each finds is tests/api/test_search_api.py's.
    "search_messages": Call(
        "GET /api/messages/search", lambda c: "/api/messages/search?q=hello", expected=SIGNED_IN
    ),
    "list_threads": Call(
        "GET /api/messages/threads", lambda c: "/api/messages/threads", expected=SIGNED_IN
    ),
    "open_thread": Call(
        "POST /api/messages/threads",
        lambda c: "/api/messages/threads",
        lambda c: {
            "propertyId": str(c.world.pair.property.id),
            "ownerId": str(c.world.owner.user.id),
        },
        # The owner cannot open a thread with themself (422 names ownerId). Any operator may
        # open one with an owner about their property: the stranger gets their own thread.
        expected=_codes(200, 422, 200, 403, 401),
    ),
    "update_thread": Call(
        "PATCH /api/messages/threads/{threadId}",
        lambda c: f"/api/messages/threads/{c.thread}",
        lambda c: {"addTags": ["Offer Sent"], "subject": "mine now"},
        scoped=lambda c, tid: f"/api/messages/threads/{tid}",
        expected=THREAD_SCOPED,
    ),
    "list_messages": Call(
        "GET /api/messages/{threadId}",
        lambda c: f"/api/messages/{c.thread}",
        scoped=lambda c, tid: f"/api/messages/{tid}",
        expected=THREAD_SCOPED,
    ),
    "list_messages_before": Call(
        "GET /api/messages/{threadId}",
        lambda c: f"/api/messages/{c.thread}?before={c.message_id}",
        scoped=lambda c, tid: f"/api/messages/{tid}?before={c.message_id}",
        expected=THREAD_SCOPED,
    ),
    "send_message": Call(
        "POST /api/messages/{threadId}",
        lambda c: f"/api/messages/{c.thread}",
        lambda c: {"text": "let me in"},
        scoped=lambda c, tid: f"/api/messages/{tid}",
        expected=THREAD_SCOPED,
    ),
    "send_retry": Call(
        "POST /api/messages/{threadId}",
        lambda c: f"/api/messages/{c.thread}",
        lambda c: {"text": "first", "clientMsgId": "k1"},
        scoped=lambda c, tid: f"/api/messages/{tid}",
        expected=THREAD_SCOPED,
    ),
    "mark_read": Call(
        "POST /api/messages/{threadId}/read",
        lambda c: f"/api/messages/{c.thread}/read",
        lambda c: {"upToMessageId": c.message_id},
        scoped=lambda c, tid: f"/api/messages/{tid}/read",
        expected=THREAD_SCOPED,
    ),
    # The message is the operator's: the owner, a participant, is not its sender (409).
    "edit_message": Call(
        "PATCH /api/messages/{threadId}/{messageId}",
        lambda c: f"/api/messages/{c.thread}/{c.message_id}",
        lambda c: {"text": "rewritten"},
        scoped=lambda c, tid: f"/api/messages/{tid}/{c.message_id}",
        expected=_codes(200, 409, 404, 404, 401),
    ),
    "delete_message": Call(
        "DELETE /api/messages/{threadId}/{messageId}",
        lambda c: f"/api/messages/{c.thread}/{c.message_id}",
        scoped=lambda c, tid: f"/api/messages/{tid}/{c.message_id}",
        expected=_codes(200, 409, 404, 404, 401),
    ),
    # Mine only: each party mutes for themselves; a stranger's mute of another pair is 404.
    "mute_thread": Call(
        "PUT /api/messages/threads/{threadId}/mute",
        lambda c: f"/api/messages/threads/{c.thread}/mute",
        lambda c: {"duration": "1d"},
        scoped=lambda c, tid: f"/api/messages/threads/{tid}/mute",
        expected=THREAD_SCOPED,
    ),
    "get_my_settings": Call(
        "GET /api/me/settings", lambda c: "/api/me/settings", expected=SIGNED_IN
    ),
    "update_my_settings": Call(
        "PATCH /api/me/settings",
        lambda c: "/api/me/settings",
        lambda c: {"emailEnabled": False},
        expected=SIGNED_IN,
    ),
    "upload_attachment": Call(
        "POST /api/messages/{threadId}/attachments",
        lambda c: f"/api/messages/{c.thread}/attachments",
        upload=True,
        scoped=lambda c, tid: f"/api/messages/{tid}/attachments",
        expected=_codes(201, 201, 404, 404, 401),
    ),
    "download_attachment": Call(
        "GET /api/attachments/{attachmentId}",
        lambda c: f"/api/attachments/{c.attachment_id}",
        scoped=lambda c, aid: f"/api/attachments/{aid}",
        expected=THREAD_SCOPED,
    ),
    "download_thumbnail": Call(
        "GET /api/attachments/{attachmentId}",
        lambda c: f"/api/attachments/{c.image_id}?variant=thumbnail",
        scoped=lambda c, aid: f"/api/attachments/{aid}?variant=thumbnail",
        expected=THREAD_SCOPED,
    ),
    "send_offer": Call(
        "POST /api/offers",
        lambda c: "/api/offers",
        lambda c: {"propertyId": str(c.world.pair.property.id), "terms": OFFER_TERMS},
        # The pair already has an open offer (409 offer_open); another operator opens their own
        # negotiation; owners never send offers.
        expected=_codes(409, 403, 201, 403, 401),
    ),
    "get_offer": Call(
        "GET /api/offers/{offerId}",
        lambda c: f"/api/offers/{c.offer_id}",
        scoped=lambda c, oid: f"/api/offers/{oid}",
        expected=THREAD_SCOPED,
    ),
    "list_offers": Call(
        "GET /api/messages/threads/{threadId}/offers",
        lambda c: f"/api/messages/threads/{c.thread}/offers",
        scoped=lambda c, tid: f"/api/messages/threads/{tid}/offers",
        expected=THREAD_SCOPED,
    ),
    "accept_offer": Call(
        "POST /api/offers/{offerId}/accept",
        lambda c: f"/api/offers/{c.offer_id}/accept",
        scoped=lambda c, oid: f"/api/offers/{oid}/accept",
        expected=_codes(409, 200, 404, 404, 401),
    ),
    "decline_offer": Call(
        "POST /api/offers/{offerId}/decline",
        lambda c: f"/api/offers/{c.offer_id}/decline",
        lambda c: {"reason": "too low"},
        scoped=lambda c, oid: f"/api/offers/{oid}/decline",
        expected=_codes(409, 200, 404, 404, 401),
    ),
    "withdraw_offer": Call(
        "POST /api/offers/{offerId}/withdraw",
        lambda c: f"/api/offers/{c.offer_id}/withdraw",
        scoped=lambda c, oid: f"/api/offers/{oid}/withdraw",
        expected=_codes(200, 409, 404, 404, 401),
    ),
    "counter_offer": Call(
        "POST /api/offers/{offerId}/counter",
        lambda c: f"/api/offers/{c.offer_id}/counter",
        lambda c: {"terms": {**OFFER_TERMS, "monthlyRent": 2600}},
        scoped=lambda c, oid: f"/api/offers/{oid}/counter",
        expected=_codes(409, 201, 404, 404, 401),
    ),
    "set_deal_stage": Call(
        "POST /api/messages/threads/{threadId}/stage",
        lambda c: f"/api/messages/threads/{c.thread}/stage",
        lambda c: {"stage": "lost", "reason": "owner sold"},
        scoped=lambda c, tid: f"/api/messages/threads/{tid}/stage",
        expected=THREAD_SCOPED,
    ),
    "portfolio": Call("GET /api/portfolio", lambda c: "/api/portfolio", expected=SIGNED_IN),
    "portfolio_unread": Call(
        "GET /api/portfolio/unread", lambda c: "/api/portfolio/unread", expected=SIGNED_IN
    ),
    "list_properties": Call("GET /api/properties", lambda c: "/api/properties", expected=SIGNED_IN),
    "create_property": Call(
        "POST /api/properties",
        lambda c: "/api/properties",
        _property,
        expected=_codes(403, 201, 403, 201, 401),
    ),
    "compute_roi": Call(
        "POST /api/roi",
        lambda c: "/api/roi",
        lambda c: {"monthlyRent": 2000, "adr": 150, "occupancyPct": 70},
        expected=SIGNED_IN,
    ),
    # Owner verification: the actors' owners are verified already (409), operators may not
    # (403), nobody here is staff (403), and another owner's proof is nobody's business (404).
    "my_verification_claim": Call(
        "GET /api/verification", lambda c: "/api/verification", expected=SIGNED_IN
    ),
    "submit_verification_claim": Call(
        "POST /api/verification",
        lambda c: "/api/verification",
        upload=True,
        expected=_codes(403, 409, 403, 409, 401),
    ),
    "download_verification_proof": Call(
        "GET /api/verification/claims/{claimId}/proof",
        lambda c: f"/api/verification/claims/{c.claim_id}/proof",
        scoped=lambda c, cid: f"/api/verification/claims/{cid}/proof",
        expected=_codes(404, 404, 404, 404, 401),
    ),
    "list_pending_claims": Call(
        "GET /api/staff/verifications",
        lambda c: "/api/staff/verifications",
        expected=_codes(403, 403, 403, 403, 401),
    ),
    "approve_claim": Call(
        "POST /api/staff/verifications/{claimId}/approve",
        lambda c: f"/api/staff/verifications/{c.claim_id}/approve",
        expected=_codes(403, 403, 403, 403, 401),
    ),
    "reject_claim": Call(
        "POST /api/staff/verifications/{claimId}/reject",
        lambda c: f"/api/staff/verifications/{c.claim_id}/reject",
        lambda c: {"reason": "no"},
        expected=_codes(403, 403, 403, 403, 401),
    ),
    # The e-mails' unsubscribe link: the token in the path is the credential, not the caller
    # (a mail client's one-click POST carries no session), so every actor gets the same
    # answer; an unknown token is 404 (tests/mail/test_unsubscribe_api.py).
    "email_unsubscribe_page": Call(
        "GET /api/email/unsubscribe/{token}",
        lambda c: f"/api/email/unsubscribe/{c.email_token}",
        expected=_codes(*[200] * 5),
        html=True,
    ),
    "email_unsubscribe": Call(
        "POST /api/email/unsubscribe/{token}",
        lambda c: f"/api/email/unsubscribe/{c.email_token}",
        expected=_codes(*[200] * 5),
    ),
    # AI reply suggestions: the thread's operator only, on Premium (the world's operator is on
    # Pro: 403 upgrade_required; the owner 403 operators_only).
    "suggest_replies": Call(
        "POST /api/ai/reply",
        lambda c: "/api/ai/reply",
        lambda c: {"threadId": c.thread},
        expected=_codes(403, 403, 404, 404, 401),
    ),
}


# Where the service does not (yet) enforce what the API promises; strict, so fixing it shows.
def test_the_matrix_covers_every_route(client):
    schema = client.get("/api/openapi.json").json()
    operations = {f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops}
    assert {call.op for call in CALLS.values()} == operations


def _ctx(world: World, db: Any) -> Ctx:
    first = messages.send_message(
        user_id=world.operator.user.id,
        thread_id=world.pair.thread_id,
        body="private",
        client_msg_id="k1",
        db=db,
    )
    upload = attachments.store_attachment(
        user_id=world.operator.user.id,
        thread_id=world.pair.thread_id,
        filename="lease.pdf",
        source=_bytes(files.pdf()),
        db=db,
    )
    image = attachments.store_attachment(
        user_id=world.operator.user.id,
        thread_id=world.pair.thread_id,
        filename="front.png",
        source=_bytes(files.image("PNG")),
        db=db,
    )
    offer = offers.send_offer(
        user_id=world.operator.user.id,
        property_id=world.pair.property.id,
        terms=OFFER_TERMS,
        db=db,
    )
    claimant = user(db, "owner", verified=False)
    claim = verification.submit_claim(
        user_id=claimant.id, filename="deed.pdf", source=_bytes(files.pdf()), db=db
    )
    with dbmod.write_session(db) as session:
        token = email_tokens.issue_in(
            session, user_id=world.owner.user.id, thread_id=world.pair.thread_id
        )
    return Ctx(
        world=world,
        email_token=token,
        message_id=str(first.id),
        attachment_id=str(upload.id),
        image_id=str(image.id),
        offer_id=str(offer.offer_id),
        claim_id=str(claim.id),
    )


def _bytes(data: bytes) -> Any:
    return io.BytesIO(data)


def _request(client, call: Call, ctx: Ctx, actor: Actor | None, path: str | None = None):
    headers = actor.auth if actor else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if call.upload:
        kwargs["files"] = {"file": ("note.txt", b"hello\n", "text/plain")}
    elif call.json is not None:
        kwargs["json"] = call.json(ctx)
    return client.request(call.method, path or call.path(ctx), **kwargs)


def _snapshot(client, ctx: Ctx) -> tuple[Any, Any]:
    auth = ctx.world.operator.auth
    return (
        client.get("/api/messages/threads", headers=auth).json(),
        client.get(f"/api/messages/{ctx.thread}", headers=auth).json(),
    )


def _actor(world: World, name: str) -> Actor | None:
    return {
        "operator": world.operator,
        "owner": world.owner,
        "stranger": world.stranger,
        "other_owner": world.stranger_owner,
        "anonymous": None,
    }[name]


@pytest.mark.parametrize("actor_name", ACTORS)
@pytest.mark.parametrize("route", sorted(CALLS))
def test_authorization_matrix(client, world: World, db, route, actor_name):
    call = CALLS[route]
    ctx = _ctx(world, db)
    actor = _actor(world, actor_name)
    before = _snapshot(client, ctx)
    res = _request(client, call, ctx, actor)
    expected = call.expected[actor_name]
    assert res.status_code == expected, (route, actor_name, res.status_code, res.text[:300])
    assert res.headers["content-type"].startswith("application/json") or (
        (route.startswith("download") or call.html) and expected == 200
    )
    if expected == 401:
        assert res.json() == {"error": "Unauthorized"}
    if expected == 404 and call.scoped is not None:
        # Exactly what a missing id gets, and the pair's thread is untouched.
        missing = _request(client, call, ctx, actor, call.scoped(ctx, str(uuid.uuid4())))
        assert missing.status_code == 404 and res.json() == missing.json()
        assert _snapshot(client, ctx) == before
