"""Attachments in the browser: upload with progress, thumbnails and file chips on both sides,
download by the other participant, 404 for a third user, a disguised file refused."""

from __future__ import annotations

from itertools import pairwise

import pytest
from playwright.sync_api import Browser, FilePayload, expect

from tests import files
from tests.e2e.helpers import open_thread, record_upload_progress, signed_in_page, slow_uplink

pytestmark = [pytest.mark.browser]

FILE_INPUT = "#attachment-upload input[type=file]"


def _file(name: str, mime: str, data: bytes) -> FilePayload:
    return FilePayload(name=name, mimeType=mime, buffer=data)


def test_upload_download_and_refusals(live_server: str, browser: Browser) -> None:
    alice = signed_in_page(browser, live_server, "alice@demo.arbibase.test")
    olivia = signed_in_page(browser, live_server, "olivia@demo.arbibase.test")
    open_thread(alice, "Bayview 3BR Townhouse")
    open_thread(olivia, "Bayview 3BR Townhouse")

    # A photo: a thumbnail on both sides.
    photo = files.image("PNG", size=(1200, 800))
    alice.set_input_files(FILE_INPUT, files=[_file("front-yard.png", "image/png", photo)])
    expect(olivia.locator("#message-list .attachment-thumb").last).to_be_visible()
    expect(alice.locator("#message-list .attachment-thumb").last).to_be_visible()

    # A lease PDF: a chip with its name and size, downloadable by the other participant.
    expect(alice.locator("#attach-button")).to_be_enabled()  # the photo's request has ended
    alice.set_input_files(
        FILE_INPUT,
        files=[_file("lease draft.pdf", "application/pdf", files.pdf())],
    )
    chip = olivia.locator("#message-list .attachment-chip", has_text="lease draft.pdf").last
    expect(chip).to_be_visible()
    expect(chip).to_contain_text("B")  # the size
    href = chip.get_attribute("href")
    assert href and href.startswith("/api/attachments/")
    download = olivia.request.get(live_server + href)
    assert download.status == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.body() == files.pdf()

    # A third user gets 404, as for a file that does not exist.
    ben = signed_in_page(browser, live_server, "ben@demo.arbibase.test")
    assert ben.request.get(live_server + href).status == 404
    assert ben.request.get(live_server + "/api/attachments/" + "0" * 32).status == 404

    # HTML dressed up as a PDF is refused with a clear message, and nothing is posted.
    before = alice.locator("#message-list .message").count()
    expect(alice.locator("#attach-button")).to_be_enabled()
    alice.set_input_files(
        FILE_INPUT,
        files=[_file("invoice.pdf", "application/pdf", b"<html><script>alert(1)</script></html>")],
    )
    expect(alice.get_by_text("invoice.pdf:")).to_be_visible()
    assert alice.locator("#message-list .message").count() == before
    for page in (alice, olivia, ben):
        page.context.close()


def test_a_slow_upload_shows_its_progress_then_the_file(live_server: str, browser: Browser) -> None:
    alice = signed_in_page(browser, live_server, "alice@demo.arbibase.test")
    open_thread(alice, "Bayview 3BR Townhouse")
    # 3 MB at 1 MB/s takes about three seconds.
    slow_uplink(alice)
    record_upload_progress(alice)
    alice.set_input_files(
        FILE_INPUT,
        files=[_file("scanned lease.pdf", "application/pdf", files.big_pdf(3 * 1024 * 1024))],
    )
    expect(alice.locator("#upload-progress")).to_be_visible()
    chip = alice.locator("#message-list .attachment-chip", has_text="scanned lease.pdf").last
    expect(chip).to_be_visible(timeout=30_000)
    expect(alice.locator("#upload-progress")).to_be_hidden()
    seen = alice.evaluate("() => window.__progress")
    partial = {v for v in seen if 0 < v < 100}
    assert len(partial) >= 2, f"the bar never showed intermediate progress: {seen}"
    assert all(a <= b for a, b in pairwise(seen)), f"went back: {seen}"  # never goes back
    alice.context.close()
