"""`python -m arbibase_chat.cli mail-in` as its own process: it listens, posts a reply sent
with smtplib, stops on Ctrl-C (SIGINT) with status 0, and tells the app's workers about the
reply: on SQLite through Redis (the workers' realtime channel), on PostgreSQL through its
NOTIFY triggers (so nothing is published to Redis, or the hubs would hear it twice)."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.engine import Engine

from arbibase_chat.config import PROJECT_ROOT
from arbibase_chat.services import messages
from tests.conftest import unavailable
from tests.mail_in.conftest import DOMAIN, free_port, premium_pair, reply, reply_address, token_for

REDIS_URL = os.environ.get("ARBIBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_channel() -> Iterator[tuple[redis.client.PubSub, str]]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    channel = f"arbibase-test-mail-in:{uuid.uuid4().hex}"
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    try:
        yield pubsub, channel
    finally:
        pubsub.close()
        client.close()


def _start(db: Engine, port: int, channel: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db.url.render_as_string(hide_password=False),
            "EMAIL_REPLY_DOMAIN": DOMAIN,
            "REDIS_URL": REDIS_URL,
            "REALTIME_CHANNEL": channel,
            "PYTHONUNBUFFERED": "1",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "arbibase_chat.cli", "mail-in", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("listening for replies"):
            return proc
    proc.kill()
    pytest.fail(f"mail-in did not start: {proc.communicate(timeout=10)[0]}")


def test_mail_in_posts_a_reply_and_tells_the_workers(
    db: Engine, redis_channel: tuple[redis.client.PubSub, str]
) -> None:
    pubsub, channel = redis_channel
    pair = premium_pair(db)
    token = token_for(db, pair.owner.id, pair.thread_id)
    port = free_port()
    proc = _start(db, port, channel)
    try:
        mail = reply(
            sender=pair.owner.email,
            to=reply_address(token),
            text="From my phone: yes.\n\nOn Mon, Dec 1, 2026 at 9:12 AM A <a@b.test> wrote:\n> ?",
        )
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            refused = client.send_message(mail)
        assert refused == {}
        posted = messages.list_messages(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
        assert [(m.body, m.sender_id) for m in posted] == [("From my phone: yes.", pair.owner.id)]
        heard = []
        deadline = time.monotonic() + (1.0 if db.dialect.name == "postgresql" else 10.0)
        while time.monotonic() < deadline:
            item = pubsub.get_message(timeout=0.2)
            if item and item["type"] == "message":
                heard.append(json.loads(item["data"]))
                if heard[-1]["type"] == "MessageCreated":
                    break
        created = [h for h in heard if h["type"] == "MessageCreated"]
        if db.dialect.name == "postgresql":
            assert created == []  # NOTIFY carries it (alembic 0003)
        else:
            assert [(h["message_id"], h["sender_id"]) for h in created] == [
                (str(posted[0].id), str(pair.owner.id))
            ]
            assert "body" not in created[0] and "message" not in created[0]  # ids only
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=15)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, output
    # aiosmtpd logs the RCPT line; the token in it is a credential.
    assert token not in output and "reply+[redacted]" in output
