"""The ROI Calculator in a browser: prefilled from a seeded listing, figures follow the typing,
a bad field is marked inline, the grid and the chart render; screenshots at desktop and phone
widths, light and dark, land in test-artifacts/ (roi-*.png) for a human to look at."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from arbibase_chat.seed import DEMO_PASSWORD
from tests.e2e.helpers import signed_in_page

pytestmark = [pytest.mark.browser]

ALICE = "alice@demo.arbibase.test"
BAYVIEW = "Bayview 3BR Townhouse"  # seeded at $3,200 a month
SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 375, "height": 812},
}
# The hand-computed unit of tests/services/test_roi.py.
UNIT = {
    "monthlyRent": "2000",
    "adr": "150",
    "occupancyPct": "70",
    "cleaningFeePerStay": "100",
    "cleaningCostPerStay": "80",
    "utilities": "200",
    "internet": "60",
    "deposit": "2000",
    "furnishingCost": "10000",
}


def _property_id(base: str, title: str) -> str:
    with httpx.Client(base_url=base, timeout=30) as api:
        login = api.post("/api/auth/login", json={"email": ALICE, "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        listings = api.get("/api/properties", params={"limit": 200}, headers=auth).json()["data"]
    return next(p["id"] for p in listings if p["title"] == title)


def _fill(page: Page, values: dict[str, str]) -> None:
    for key, text in values.items():
        page.locator(f"#roi-{key}").fill(text)


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"  # type: ignore[index]


def test_roi_calculator(live_server: str, browser: Browser, artifacts_dir: Path) -> None:
    url = f"{live_server}/roi?property={_property_id(live_server, BAYVIEW)}"
    page = signed_in_page(browser, live_server, ALICE)
    page.goto(url)
    expect(page.locator("#roi-property")).to_contain_text(BAYVIEW)
    expect(page.locator("#roi-monthlyRent")).to_have_value("3200")
    expect(page.locator("#roi-net")).to_contain_text("-$3,200.00")  # rent, nothing booked yet

    _fill(page, UNIT)
    expect(page.locator("#roi-net")).to_contain_text("$958.59")
    expect(page.locator("#roi-annual")).to_contain_text("$11,503.08")
    expect(page.locator("#roi-coc")).to_contain_text("82.16%")
    expect(page.locator("#roi-payback")).to_contain_text("14.6 months")
    expect(page.locator("#roi-break-even")).to_contain_text("49.15%")
    # The 3 x 3 grid: every cell earns for this unit; the centre is the unit itself.
    expect(page.locator("#roi-sensitivity td.roi-pos")).to_have_count(9)
    expect(page.locator("#roi-sensitivity tbody tr").nth(1)).to_contain_text("$959")
    # The chart: the net line, the $0 line and the break-even marker.
    expect(page.locator("#roi-chart .recharts-line-curve")).to_be_visible()
    expect(page.locator("#roi-chart .recharts-reference-line")).to_have_count(2)
    expect(page.locator("#roi-chart")).to_contain_text("Break-even")

    # A bad field: its message inline, the last good figures stay, flagged as such.
    page.locator("#roi-occupancyPct").fill("150")
    expect(page.locator("#roi-occupancyPct-error")).to_have_text("Must be a number from 0 to 100")
    expect(page.locator("#roi-stale")).to_be_visible()
    expect(page.locator("#roi-net")).to_contain_text("$958.59")
    page.locator("#roi-occupancyPct").fill("70")
    expect(page.locator("#roi-occupancyPct-error")).to_have_count(0)
    expect(page.locator("#roi-stale")).to_have_count(0)
    # A losing unit: red cells, break-even out of reach (136 %: off the chart too).
    page.locator("#roi-monthlyRent").fill("6000")
    expect(page.locator("#roi-break-even")).to_contain_text("Unreachable")
    expect(page.locator("#roi-sensitivity td.roi-neg")).to_have_count(9)
    expect(page.locator("#roi-chart .recharts-reference-line")).to_have_count(1)
    page.locator("#roi-monthlyRent").fill("2000")
    expect(page.locator("#roi-net")).to_contain_text("$958.59")

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.evaluate("document.activeElement?.blur(); window.scrollTo(0, 0)")
            page.wait_for_timeout(400)  # the chart re-measures its container
            expect(page.locator("#roi-chart .recharts-line-curve")).to_be_visible()
            if size == "phone":
                _no_horizontal_overflow(page)
            page.screenshot(path=str(artifacts_dir / f"roi-{size}-{scheme}.png"), full_page=True)
    page.context.close()
