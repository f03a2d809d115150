"""Owner verification in the browser: an unverified owner sees why they cannot reply instead
of a composer, sends a proof on /verify, staff approve it in another browser, and the owner's
open thread page shows the composer without a reload; then they reply.

Screenshots of the banner, /verify and the staff page (desktop and phone, light and dark) go
to test-artifacts/."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat.seed import DEMO_PASSWORD
from arbibase_chat.services import accounts, messages, properties, threads
from tests import files
from tests.e2e.helpers import THREAD_URL, bubble, log_in, open_thread, send
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser]

PROOF_INPUT = "#proof-upload input[type=file]"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


def _page(browser: Browser, base: str, email: str, password: str, **context: object) -> Page:
    ctx = browser.new_context(**context)  # type: ignore[arg-type]
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    log_in(page, base, email, password)
    return page


def _new_negotiation(database_url: str) -> tuple[str, str]:
    """An owner nobody verified yet, with a listing an operator (Alice) wrote about."""
    engine = dbmod.get_engine(database_url)
    owner = accounts.sign_up(
        email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
        password=PASSWORD,
        display_name="Nora Quinn",
        role="owner",
        db=engine,
    )
    title = f"Harbor Flat {uuid.uuid4().hex[:4]}"
    listing = properties.create_property(
        user_id=owner.id,
        data={"title": title, "address": "5 Pier Rd", "city": "Savannah", "state": "GA"},
        db=engine,
    )
    alice = accounts.authenticate(
        email="alice@demo.arbibase.test", password=DEMO_PASSWORD, db=engine
    )
    thread = threads.get_or_create_thread(
        user_id=alice.id, property_id=listing.id, owner_id=owner.id, subject="Lease", db=engine
    )
    messages.send_message(
        user_id=alice.id,
        thread_id=thread.id,
        body="Hi Nora, would you lease the flat for 24 months?",
        db=engine,
    )
    return owner.email, title


def test_verify_then_reply_without_reload(
    live_server: str, e2e_database_url: str, browser: Browser, artifacts_dir: Path
) -> None:
    email, title = _new_negotiation(e2e_database_url)
    owner = _page(browser, live_server, email, PASSWORD, viewport=DESKTOP)
    open_thread(owner, title)
    banner = owner.locator("#verify-banner")
    expect(banner).to_contain_text("Verify ownership to reply")
    expect(owner.locator("#composer")).to_have_count(0)
    owner.screenshot(path=str(artifacts_dir / "verify-banner-desktop-light.png"))
    thread_url = owner.url

    owner.locator("#verify-ownership-link").click()
    expect(owner).to_have_url(f"{live_server}/verify")
    owner.set_input_files(
        PROOF_INPUT,
        files=[FilePayload(name="deed.pdf", mimeType="application/pdf", buffer=files.pdf())],
    )
    expect(owner.locator("#proof-selected")).to_have_text("deed.pdf")
    owner.locator("#proof-note").fill("Deed for 5 Pier Rd")
    owner.screenshot(path=str(artifacts_dir / "verify-page-form-desktop-light.png"))
    owner.locator("#submit-proof").click()
    expect(owner.locator("#claim-status")).to_have_attribute("data-status", "pending")
    owner.screenshot(path=str(artifacts_dir / "verify-page-pending-desktop-light.png"))

    owner.goto(thread_url)
    expect(owner).to_have_url(THREAD_URL)
    expect(banner).to_contain_text("under review")
    owner.screenshot(path=str(artifacts_dir / "verify-banner-pending-desktop-light.png"))

    # Staff reject it first: the owner's open page shows the reason by itself.
    staff = _page(browser, live_server, "sam@demo.arbibase.test", DEMO_PASSWORD, viewport=DESKTOP)
    staff.goto(f"{live_server}/staff/verifications")
    card = staff.locator(f".claim-card[data-owner='{email}']")
    expect(card).to_contain_text("Deed for 5 Pier Rd")
    href = card.locator(".claim-proof").get_attribute("href") or ""
    proof = staff.request.get(live_server + href)
    assert proof.status == 200 and proof.body() == files.pdf()
    staff.screenshot(path=str(artifacts_dir / "staff-verifications-desktop-light.png"))
    card.locator(".claim-reject").click()
    staff.locator("#reject-reason").fill("The deed does not show your name")
    staff.screenshot(path=str(artifacts_dir / "staff-reject-dialog-desktop-light.png"))
    staff.locator("#reject-submit").click()
    expect(card).to_have_count(0)
    expect(banner).to_contain_text("The deed does not show your name")
    owner.screenshot(path=str(artifacts_dir / "verify-banner-rejected-desktop-light.png"))

    # Try again: a photo of the tax bill this time; staff approve it.
    owner.locator("#verify-ownership-link").click()
    expect(owner.locator("#claim-status")).to_have_attribute("data-status", "rejected")
    owner.set_input_files(
        PROOF_INPUT,
        files=[FilePayload(name="tax-bill.png", mimeType="image/png", buffer=files.image("PNG"))],
    )
    owner.locator("#submit-proof").click()
    expect(owner.locator("#claim-status")).to_have_attribute("data-status", "pending")
    owner.goto(thread_url)
    expect(banner).to_contain_text("under review")
    staff.goto(f"{live_server}/staff/verifications")
    expect(card).to_contain_text("tax-bill.png")
    card.locator(".claim-approve").click()
    expect(card).to_have_count(0)

    # The owner's open page swaps the banner for the composer by itself.
    expect(owner.locator("#composer")).to_be_visible(timeout=10_000)
    expect(banner).to_have_count(0)
    text = f"Yes, happy to talk {uuid.uuid4().hex[:6]}"
    send(owner, text)
    expect(bubble(owner, text)).to_have_attribute("data-status", "sent")
    owner.context.close()
    staff.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(live_server: str, browser: Browser, artifacts_dir: Path, scheme: str) -> None:
    """Oscar (seeded, claim under review) and Sam (staff) on a phone and a desktop."""
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        oscar = _page(
            browser,
            live_server,
            "oscar@demo.arbibase.test",
            DEMO_PASSWORD,
            viewport=viewport,
            color_scheme=scheme,
        )
        if name == "phone":
            oscar.goto(f"{live_server}/inbox")
        open_thread(oscar, "Lakeside Cottage")
        expect(oscar.locator("#verify-banner")).to_be_visible()
        expect(oscar.locator("#message-list .message").first).to_be_visible()
        oscar.screenshot(path=str(artifacts_dir / f"verify-banner-{name}-{scheme}.png"))
        oscar.goto(f"{live_server}/verify")
        expect(oscar.locator("#claim-status")).to_be_visible()
        oscar.screenshot(path=str(artifacts_dir / f"verify-page-{name}-{scheme}.png"))
        oscar.context.close()
        sam = _page(
            browser,
            live_server,
            "sam@demo.arbibase.test",
            DEMO_PASSWORD,
            viewport=viewport,
            color_scheme=scheme,
        )
        sam.goto(f"{live_server}/staff/verifications")
        expect(sam.locator("#staff-verifications")).to_be_visible()
        sam.screenshot(path=str(artifacts_dir / f"staff-verifications-{name}-{scheme}.png"))
        sam.context.close()
    # Anyone else finds no staff page.
    olivia = _page(browser, live_server, "olivia@demo.arbibase.test", DEMO_PASSWORD)
    olivia.goto(f"{live_server}/staff/verifications")
    expect(olivia.locator("#staff-not-found")).to_be_visible()
    expect(olivia.locator("#staff-verifications")).to_have_count(0)
    olivia.context.close()
