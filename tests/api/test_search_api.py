"""GET /api/messages/search (issue #14 target 6): camelCase hits, plain-text snippets, only the
caller's threads; bad input is a 422 naming the field, never a 500."""

from __future__ import annotations

import pytest

from arbibase_chat.services import messages


def _search(client, actor, **params):
    return client.get("/api/messages/search", params=params, headers=actor.auth)


def test_participants_find_the_message_and_a_stranger_finds_nothing(client, world, db):
    sent = messages.send_message(
        user_id=world.operator.user.id,
        thread_id=world.pair.thread_id,
        body="The <b>deposit</b> is due Friday",
        db=db,
    )
    res = _search(client, world.owner, q="deposit")
    assert res.status_code == 200, res.text
    (hit,) = res.json()["results"]
    assert hit["threadId"] == world.thread_id and hit["messageId"] == str(sent.id)
    assert hit["seq"] == sent.seq and hit["senderId"] == str(world.operator.user.id)
    assert hit["threadTitle"] == "Lease offer" and hit["createdAt"]
    # Plain-text pieces: the markup is text, the match is marked by a flag.
    assert hit["snippet"][:3] == [
        {"text": "The <b>", "match": False},
        {"text": "deposit", "match": True},
        {"text": "</b> is due Friday", "match": False},
    ]
    assert _search(client, world.operator, q="depo", limit=1).json()["results"][0]["seq"] == 1
    for outsider in (world.stranger, world.stranger_owner):
        res = _search(client, outsider, q="deposit")
        assert res.status_code == 200 and res.json() == {"results": []}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 101},
        {"q": "ok", "limit": 0},
        {"q": "ok", "limit": 51},
        {"q": "ok", "before": "yesterday"},
        # A bare number is not the ISO 8601 the schema promises (pydantic alone would take
        # it as a Unix time; schemathesis found that).
        {"q": "ok", "before": "-29882"},
        {"q": "ok", "before": "1733390000.5"},
        {"q": "ok", "limit": "many"},
    ],
)
def test_bad_input_is_a_clear_422(client, world, params):
    res = _search(client, world.operator, **params)
    assert res.status_code == 422, res.text


def test_an_iso_time_is_taken(client, world):
    res = _search(client, world.operator, q="ok", before="2026-12-05T10:00:00Z")
    assert res.status_code == 200, res.text


def test_query_syntax_is_plain_text(client, world):
    for q in ['"', "*", "NEAR(", ":*", "&", "!", "\\", "' OR 1=1 --"]:
        res = _search(client, world.operator, q=q)
        assert res.status_code == 200, (q, res.text)
        assert res.json() == {"results": []}


def test_signed_out_is_401(client):
    assert client.get("/api/messages/search", params={"q": "x"}).status_code == 401


def test_other_methods_are_405_not_a_thread_id(client, world):
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        res = client.request(method, "/api/messages/search?q=x", headers=world.operator.auth)
        assert res.status_code == 405, (method, res.text)
        assert res.headers["allow"] == "GET, HEAD"
