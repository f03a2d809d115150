"""`POST /api/ai/reply`: AI reply suggestions' contract (the rules in
tests/services/test_ai_replies.py, the provider in tests/adapters/test_ai.py)."""

from __future__ import annotations

import pytest

from arbibase_chat.adapters import ai
from arbibase_chat.services import accounts, messages, ratelimit
from tests.api.conftest import World

PATH = "/api/ai/reply"
UPGRADE = "AI reply suggestions are included in the Premium plan."


@pytest.fixture
def premium(db, world: World) -> World:
    accounts.set_tier(email=world.operator.user.email, tier="premium", db=db)
    messages.send_message(
        user_id=world.owner.user.id,
        thread_id=world.pair.thread_id,
        body="Thanks! What deposit could you pay?",
        db=db,
    )
    return world


def _ask(client, world: World, who: str = "operator", thread_id: str | None = None):
    actor = getattr(world, who)
    return client.post(PATH, json={"threadId": thread_id or world.thread_id}, headers=actor.auth)


def test_templates_for_the_premium_operator(client, premium: World):
    res = _ask(client, premium)
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) == {"suggestions", "provider", "notice"}
    assert body["provider"] == "templates" and body["notice"] is None
    assert 1 <= len(body["suggestions"]) <= 3
    assert all(set(s) == {"text", "intent"} for s in body["suggestions"])
    assert body["suggestions"][0]["intent"] == "deposit"


def test_a_provider_that_is_down_is_200_with_a_notice(client, premium: World, monkeypatch):
    down = ai.OpenAICompatible(base_url="http://127.0.0.1:9/v1", model="m", timeout_seconds=1)
    monkeypatch.setattr(ai, "get_provider", lambda: down)
    res = _ask(client, premium)
    assert res.status_code == 200
    assert res.json() == {
        "suggestions": [],
        "provider": "openai-compatible:m",
        "notice": "AI suggestions are unavailable right now. Write your reply as usual.",
    }


def test_below_premium_is_upgrade_required(client, world: World):
    res = _ask(client, world)  # the world's operator is on Pro
    assert res.status_code == 403
    assert res.json() == {"error": UPGRADE, "code": "upgrade_required", "feature": "ai_suggestions"}


def test_the_owner_stranger_and_anonymous(client, premium: World):
    owner = _ask(client, premium, "owner")
    assert owner.status_code == 403 and owner.json()["code"] == "operators_only"
    stranger = _ask(client, premium, "stranger")
    missing = _ask(client, premium, "stranger", "00000000-0000-4000-8000-000000000000")
    assert stranger.status_code == 404 and stranger.json() == missing.json()
    anonymous = client.post(PATH, json={"threadId": premium.thread_id})
    assert anonymous.status_code == 401 and anonymous.json() == {"error": "Unauthorized"}


@pytest.mark.parametrize(
    "body", [{}, {"threadId": "nope"}, {"threadId": 5}, {"threadId": None, "x": 1}]
)
def test_bad_bodies_are_422_naming_the_field(client, premium: World, body):
    res = client.post(PATH, json=body, headers=premium.operator.auth)
    assert res.status_code == 422 and res.json()["code"] == "invalid"


def test_rate_limited_per_user_with_retry_after(client, premium: World):
    with ratelimit.use(ratelimit.LocalBuckets(burst=2, per_second=0.1), kind=ratelimit.AI):
        codes = [_ask(client, premium).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        res = _ask(client, premium)
        assert res.headers["retry-after"] == "10"
        assert res.json()["code"] == "rate_limited" and res.json()["retry_after"] == 10
        # Refusals before the limit (the owner, a stranger) do not use the operator's tokens,
        # nor does the operator's limit touch anyone else.
        assert _ask(client, premium, "owner").status_code == 403
