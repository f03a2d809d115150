"""`/api/docs` renders with nothing but the app: every request to another origin is aborted
(a closed network), and Swagger UI still lists the operations."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, expect

pytestmark = [pytest.mark.browser]


def test_api_docs_render_offline(live_server: str, browser: Browser) -> None:
    origin = urlsplit(live_server).netloc
    outside: list[str] = []

    def only_the_app(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route("**/*", only_the_app)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ArbiBase Chat API")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert page.locator(".opblock").count() > 20  # the whole API, not a blank shell
    assert outside == [], outside  # nothing was needed from outside
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
