"""The offers contract: POST /api/offers, the steps, their codes, and `stage` on threads."""

from __future__ import annotations

from datetime import date, timedelta

from arbibase_chat.models import UserPublic
from arbibase_chat.services import tokens
from tests import factories
from tests.api.conftest import World

TERMS = {
    "monthlyRent": 2400,
    "leaseMonths": 12,
    "startDate": (date.today() + timedelta(days=30)).isoformat(),
    "deposit": 2400,
}


def _auth(user: UserPublic) -> dict[str, str]:
    token = tokens.issue_access_token(user_id=user.id, email=user.email)
    return {"Authorization": f"Bearer {token}"}


def _send(client, world: World, **extra):
    body = {"propertyId": str(world.pair.property.id), "terms": TERMS, **extra}
    return client.post("/api/offers", json=body, headers=world.operator.auth)


def test_send_offer_answers_exactly_the_contract(client, world: World):
    res = _send(client, world, message="Offer inside")
    assert res.status_code == 201, res.text
    body = res.json()
    assert set(body) == {"offerId", "threadId", "messageId", "version", "status"}
    assert body["threadId"] == world.thread_id  # the pair's active thread, not a new one
    assert (body["version"], body["status"]) == (1, "sent")
    threads = client.get("/api/messages/threads", headers=world.owner.auth).json()["data"]
    [row] = [t for t in threads if t["id"] == world.thread_id]
    assert row["stage"] == "offer_sent" and "Offer Sent" in row["tags"]
    offer = client.get(f"/api/offers/{body['offerId']}", headers=world.owner.auth).json()
    assert offer["terms"]["monthlyRent"] == 2400 and offer["actions"] == [
        "accept",
        "decline",
        "counter",
    ]
    assert offer["roi"] is None and offer["numbersShared"] is False


def test_the_negotiation_over_rest(client, world: World):
    sent = _send(client, world).json()
    again = _send(client, world)
    assert again.status_code == 409 and again.json()["code"] == "offer_open"
    counter = client.post(
        f"/api/offers/{sent['offerId']}/counter",
        json={"terms": {**TERMS, "monthlyRent": 2250}},
        headers=world.owner.auth,
    )
    assert counter.status_code == 201, counter.text
    v2 = counter.json()
    assert v2["version"] == 2 and v2["threadId"] == sent["threadId"]
    old = client.post(f"/api/offers/{sent['offerId']}/accept", headers=world.owner.auth)
    assert old.status_code == 409 and old.json()["code"] == "not_latest"
    own = client.post(f"/api/offers/{v2['offerId']}/accept", headers=world.owner.auth)
    assert own.status_code == 409 and own.json()["code"] == "own_offer"
    listed = client.get(
        f"/api/messages/threads/{sent['threadId']}/offers", headers=world.operator.auth
    ).json()["data"]
    assert [(o["version"], o["status"]) for o in listed] == [(1, "countered"), (2, "sent")]
    assert listed[1]["changes"] == [
        {"field": "monthlyRent", "label": "rent", "before": "$2,400/mo", "after": "$2,250/mo"}
    ]
    accepted = client.post(f"/api/offers/{v2['offerId']}/accept", headers=world.operator.auth)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    late = client.post(f"/api/offers/{v2['offerId']}/withdraw", headers=world.owner.auth)
    assert late.status_code == 409 and late.json()["code"] == "offer_closed"
    stage = client.post(
        f"/api/messages/threads/{sent['threadId']}/stage",
        json={"stage": "lease_drafted"},
        headers=world.owner.auth,
    )
    assert stage.status_code == 200 and stage.json() == {"stage": "lease_drafted"}
    skipped = client.post(
        f"/api/messages/threads/{sent['threadId']}/stage",
        json={"stage": "resume"},
        headers=world.owner.auth,
    )
    assert skipped.status_code == 409 and skipped.json()["code"] == "stage_order"
    by_stage = client.get(
        "/api/messages/threads?stage=lease_drafted", headers=world.operator.auth
    ).json()["data"]
    assert [t["id"] for t in by_stage] == [sent["threadId"]]


def test_bad_input_is_422_naming_the_field(client, world: World):
    for terms, field in (
        ({**TERMS, "monthlyRent": -5}, "monthlyRent"),
        ({**TERMS, "startDate": "31/12/2026"}, "startDate"),
        ({**TERMS, "model": "revenue_share"}, "revenueSharePct"),
        ({**TERMS, "expiresInDays": 0}, "expiresInDays"),
    ):
        res = _send(client, world, terms=terms)
        assert res.status_code == 422, (terms, res.text)
        assert field in (res.json().get("field") or str(res.json())), res.json()
    missing = client.post(
        "/api/offers", json={"propertyId": str(world.pair.property.id)}, headers=world.operator.auth
    )
    assert missing.status_code == 422
    nowhere = client.post(
        "/api/offers",
        json={"propertyId": "00000000-0000-4000-8000-000000000000", "terms": TERMS},
        headers=world.operator.auth,
    )
    assert nowhere.status_code == 404


def test_an_unverified_owner_gets_403_verify_ownership(client, db):
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner", verified=False)
    prop = factories.listing(db, owner)
    sent = client.post(
        "/api/offers",
        json={"propertyId": str(prop.id), "terms": TERMS},
        headers=_auth(operator),
    ).json()
    res = client.post(f"/api/offers/{sent['offerId']}/accept", headers=_auth(owner))
    assert res.status_code == 403 and res.json()["code"] == "verify_ownership"
    seen = client.get(f"/api/offers/{sent['offerId']}", headers=_auth(owner))
    assert seen.status_code == 200 and seen.json()["status"] == "sent"


def test_portfolio_is_a_superset_of_unread_and_puts_what_needs_me_first(client, world: World, db):
    quiet = factories.listing(db, world.owner.user, title="Quiet Cottage")
    sent = _send(client, world).json()
    owner = client.get("/api/portfolio", headers=world.owner.auth).json()["data"]
    unread = client.get("/api/portfolio/unread", headers=world.owner.auth).json()["data"]
    assert [p["property_title"] for p in owner] == [world.pair.property.title, "Quiet Cottage"]
    first = owner[0]
    assert first["needs_attention"] and first["offers_awaiting_me"] == 1
    assert (first["stage"], first["latest_offer_rent"], first["latest_offer_status"]) == (
        "offer_sent",
        2400.0,
        "sent",
    )
    assert first["thread_id"] == sent["threadId"]
    for row in unread:
        [mine] = [p for p in owner if p["property_id"] == row["property_id"]]
        assert {k: mine[k] for k in row} == row
    # The listing nobody contacted yet: on the owner's page, with nothing to do.
    assert owner[1]["property_id"] == str(quiet.id) and owner[1]["thread_count"] == 0
    assert not owner[1]["needs_attention"] and owner[1]["stage"] is None
    operator = client.get("/api/portfolio", headers=world.operator.auth).json()["data"]
    assert [p["property_id"] for p in operator] == [str(world.pair.property.id)]
    assert operator[0]["offers_awaiting_me"] == 0 and operator[0]["unread_count"] == 0
    stranger = client.get("/api/portfolio", headers=world.stranger.auth).json()["data"]
    assert stranger == []


def test_the_roi_snapshot_is_computed_on_the_server_and_private_unless_shared(
    client, world: World, db
):
    roi = {"monthlyRent": 2400, "adr": 150, "occupancyPct": 70, "cleaningFeePerStay": 100}
    sent = _send(client, world, roi=roi).json()
    mine = client.get(f"/api/offers/{sent['offerId']}", headers=world.operator.auth).json()
    theirs = client.get(f"/api/offers/{sent['offerId']}", headers=world.owner.auth).json()
    computed = client.post("/api/roi", json=roi, headers=world.operator.auth).json()
    assert mine["roi"] == computed and mine["numbersShared"] is False
    assert theirs["roi"] is None
    # A made-up "result" is not an input: refused, nothing stored.
    forged = _send(client, world, roi={**roi, "net_cash_flow": 99999})
    assert forged.status_code == 422
    bad = _send(client, world, roi={**roi, "occupancyPct": 140})
    assert bad.status_code == 422 and "occupancyPct" in bad.text
    # Shared numbers reach the owner (a second negotiation: another operator's).
    other = client.post(
        "/api/offers",
        json={
            "propertyId": str(world.pair.property.id),
            "terms": TERMS,
            "roi": roi,
            "shareNumbers": True,
        },
        headers=world.stranger.auth,
    ).json()
    shared = client.get(f"/api/offers/{other['offerId']}", headers=world.owner.auth).json()
    assert (
        shared["numbersShared"] is True
        and shared["roi"]["net_cash_flow"] == computed["net_cash_flow"]
    )


def test_a_beta_thread_refuses_files_with_upgrade_required(client, db):
    operator = factories.user(db, "operator", tier="beta")
    owner = factories.user(db, "owner")
    prop = factories.listing(db, owner)
    opened = client.post(
        "/api/messages/threads",
        json={"propertyId": str(prop.id), "ownerId": str(owner.id)},
        headers=_auth(operator),
    ).json()
    for who in (operator, owner):
        res = client.post(
            f"/api/messages/{opened['id']}/attachments",
            files={"file": ("lease.pdf", b"%PDF-1.4 tiny", "application/pdf")},
            headers=_auth(who),
        )
        assert res.status_code == 403, res.text
        body = res.json()
        assert body["code"] == "upgrade_required" and body["feature"] == "attachments"
    link = client.post(
        f"/api/messages/{opened['id']}",
        json={"text": "see", "attachmentUrl": "https://example.com/x.pdf"},
        headers=_auth(owner),
    )
    assert link.status_code == 403 and link.json()["feature"] == "attachments"
    text = client.post(
        f"/api/messages/{opened['id']}", json={"text": "hello"}, headers=_auth(owner)
    )
    assert text.status_code in (200, 201)
