"""Reply by e-mail, end to end (issue #12): a live prod server with its inbound SMTP listener
(INBOUND_SMTP_PORT set: the listener runs in the app process), a Premium operator's browser
with the thread open, and the offline owner answering from a mail client (smtplib, quoting
the notification and signing): the reply, without quote or signature, appears live in the
operator's browser. The time from the end of SMTP DATA to the bubble in the page is measured
(a MutationObserver stamps the moment) and written to test-artifacts/."""

from __future__ import annotations

import smtplib
import socket
import statistics
import time
import uuid
from collections.abc import Iterator
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from arbibase_chat import db as dbmod
from arbibase_chat import migrations, routes
from arbibase_chat.services import email_tokens, messages, properties, threads
from tests import factories
from tests.e2e.helpers import bubble, log_in
from tests.e2e.server import LiveServer, free_port, server_env

pytestmark = [pytest.mark.browser]

DOMAIN = "reply.arbibase.test"
ROUNDS = 5

# Stamps (Date.now()) the first moment the page shows `text`.
WATCH = """(text) => {
  window.__seenAt = null;
  const seen = () => document.querySelector('#message-list')?.textContent.includes(text);
  const observer = new MutationObserver(() => {
    if (window.__seenAt === null && seen()) { window.__seenAt = Date.now(); observer.disconnect(); }
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1.0)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens for SMTP on port {port}")


@pytest.fixture
def mail_server(tmp_path: Path, artifacts_dir: Path) -> Iterator[tuple[LiveServer, str, int]]:
    url = f"sqlite:///{tmp_path / 'mail.db'}"
    migrations.upgrade(url)
    smtp_port = free_port()
    extra = {"INBOUND_SMTP_PORT": str(smtp_port), "EMAIL_REPLY_DOMAIN": DOMAIN}
    # Its own frontend build, as test_reconnect.py's: another port than the shared server.
    env = server_env(url, tmp_path, tmp_path / "web", extra)
    server = LiveServer(env=env, log_path=artifacts_dir / "e2e-mail-server.log")
    server.start()
    try:
        server.wait_ready()
        _wait_for_port(smtp_port)
        yield server, url, smtp_port
    finally:
        server.stop()
        dbmod.dispose_engine(url)


def _reply(owner_email: str, to: str, text: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Oona Owner <{owner_email}>"
    mail["To"] = to
    mail["Subject"] = "Re: New message about Harbor Loft"
    mail["Message-ID"] = make_msgid(domain="mail.example.com")
    mail.set_content(
        f"{text}\n\n-- \nOona\n\n"
        "On Mon, Dec 1, 2026 at 9:12 AM ArbiBase Chat <notifications@arbibase.test> wrote:\n"
        "> Pia Premium: Could we see the loft on Tuesday?\n"
    )
    return mail.as_bytes(policy=email_policy.SMTP)


def test_an_email_reply_appears_live_in_the_operators_browser(
    mail_server: tuple[LiveServer, str, int], browser: Browser, artifacts_dir: Path
) -> None:
    server, url, smtp_port = mail_server
    engine = dbmod.get_engine(url)
    operator = factories.user(engine, "operator", name="Pia Premium", tier="premium")
    owner = factories.user(engine, "owner", name="Oona Owner")
    prop = properties.create_property(
        user_id=owner.id,
        data={
            "title": f"Harbor Loft {uuid.uuid4().hex[:5]}",
            "address": "4 Pier Road",
            "city": "Boston",
            "monthly_rent_cents": 320_000,
            "bedrooms": 2,
        },
        db=engine,
    )
    tid = threads.get_or_create_thread(
        user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=engine
    ).id
    first = "Could we see the loft on Tuesday?"
    messages.send_message(user_id=operator.id, thread_id=tid, body=first, db=engine)
    # The token the owner's notification e-mail carried (the dispatcher issues it).
    with dbmod.write_session(engine) as session:
        token = email_tokens.issue_in(session, user_id=owner.id, thread_id=tid)
    address = f"reply+{token}@{DOMAIN}"

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        log_in(page, server.url, operator.email, factories.PASSWORD)
        page.goto(server.url + routes.thread(str(tid)))
        expect(bubble(page, first)).to_be_visible()
        page.wait_for_timeout(300)  # the page's on_load has registered it with the hub

        to_page: list[float] = []
        to_ack: list[float] = []
        sent: list[str] = []
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            client.ehlo("mail.example.com")
            for n in range(ROUNDS):
                text = f"Tuesday at 10 works, see you there ({n}-{uuid.uuid4().hex[:4]})."
                raw = _reply(owner.email, address, text)
                page.evaluate(WATCH, text)
                assert client.mail(owner.email)[0] == 250
                assert client.rcpt(address)[0] == 250
                started = time.time() * 1000
                code, answer = client.data(raw)
                acked = time.time() * 1000
                assert (code, answer) == (250, b"2.0.0 Message accepted")
                expect(bubble(page, text)).to_be_visible()
                seen_at = page.evaluate("window.__seenAt")
                assert seen_at is not None
                to_page.append(seen_at - started)
                to_ack.append(acked - started)
                sent.append(text)
                # The quote was cut: the page never shows it.
                assert "wrote:" not in page.locator("#message-list").inner_text()

        stored = messages.list_messages(user_id=operator.id, thread_id=tid, db=engine)
        # Posted as the owner, without the quote or the "-- " signature.
        assert [(m.sender_id, m.body) for m in stored[1:]] == [(owner.id, t) for t in sent]
        page.screenshot(path=str(artifacts_dir / "reply-by-email-operator.png"))
    finally:
        context.close()

    report = (
        f"reply by e-mail, SMTP DATA end -> bubble in the operator's page, {ROUNDS} replies: "
        f"median {statistics.median(to_page):.0f} ms, max {max(to_page):.0f} ms "
        f"(DATA end -> 250 accepted: median {statistics.median(to_ack):.0f} ms); "
        f"each: {', '.join(f'{v:.0f}' for v in to_page)} ms\n"
    )
    print("\n" + report)
    (artifacts_dir / "reply-by-email-latency.txt").write_text(report)
