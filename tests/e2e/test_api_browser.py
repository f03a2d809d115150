"""The seed's browser code, unchanged, from a signed-in page of the running app; and a message
posted through the API appears live in the other participant's open tab."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from arbibase_chat.config import ACCESS_TOKEN_COOKIE
from tests.e2e.helpers import bubble
from tests.e2e.test_api_live import negotiation

pytestmark = [pytest.mark.browser]

# The seed's ChatPanel load()/send() and its thread calls, as the Next.js pages run them:
# relative URLs, the browser's cookie, no headers, string bodies.
SEED_JS = """
async ({ propertyId, ownerId, text }) => {
  const opened = await fetch(`/api/messages/threads`, {
    method: "POST",
    body: JSON.stringify({ propertyId, ownerId, subject: "From the seed page" }),
  });
  const { id: threadId } = await opened.json();
  const sent = await fetch(`/api/messages/${threadId}`, {
    method: "POST",
    body: JSON.stringify({ text }),
  });
  const threads = await (await fetch(`/api/messages/threads?role=operator&propertyId=${propertyId}`)).json();
  const res = await fetch(`/api/messages/${threadId}`);
  const json = await res.json();
  return {
    threadId,
    opened: opened.status,
    sent: sent.status,
    sentJson: await sent.json(),
    threads: threads.data,
    messages: json.data || [],
  };
}
"""


def _page_as(browser: Browser, base: str, auth: dict[str, str], path: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    token = auth["Authorization"].split(" ", 1)[1]
    context.add_cookies(
        [{"name": ACCESS_TOKEN_COOKIE, "value": token, "url": base, "sameSite": "Strict"}]
    )
    page = context.new_page()
    page.goto(base + path)
    return page


def test_the_seeds_fetch_calls_work_from_a_signed_in_page(
    live_server: str, browser: Browser
) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as api:
        n = negotiation(api)
    page = _page_as(browser, live_server, n["operator_auth"], "/inbox")
    text = f"hello from the seed's fetch {uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = page.evaluate(
        SEED_JS, {"propertyId": n["property_id"], "ownerId": n["owner"]["id"], "text": text}
    )
    assert (result["opened"], result["sent"]) == (200, 200)
    assert result["threadId"] == n["thread_id"]  # get-or-create found the pair's thread
    assert set(result["sentJson"]) == {"id", "created_at"}
    assert [t["id"] for t in result["threads"]] == [n["thread_id"]]
    assert [m["body"] for m in result["messages"]] == [text]
    assert result["messages"][0]["sender_id"] == n["operator"]["id"]
    page.context.close()


def test_a_message_posted_through_the_api_appears_live(live_server: str, browser: Browser) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as api:
        n = negotiation(api)
        owner_tab = _page_as(browser, live_server, n["owner_auth"], f"/threads/{n['thread_id']}")
        expect(owner_tab.locator("#message-list")).to_be_visible()
        text = f"posted by another tool {uuid.uuid4().hex[:6]}"
        res = api.post(
            f"/api/messages/{n['thread_id']}", json={"text": text}, headers=n["operator_auth"]
        )
        assert res.status_code == 200
        expect(bubble(owner_tab, text)).to_be_visible()
    owner_tab.context.close()
