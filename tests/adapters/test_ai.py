"""adapters/ai.py against a real HTTP server on 127.0.0.1 speaking the chat-completions wire
format (what Ollama, vLLM and hosted APIs answer), and the service on top of it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from arbibase_chat.adapters import ai
from arbibase_chat.config import Settings
from arbibase_chat.services import ai_replies, messages, threads
from arbibase_chat.services.ai_replies import Suggestion
from tests import factories


def _completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}},
            ],
        }
    ).encode()


class Handler(BaseHTTPRequestHandler):
    # What the next request gets: (status, body, delay in seconds); what requests came.
    reply: ClassVar[tuple[int, bytes, float]] = (200, b"{}", 0.0)
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        Handler.seen.append(
            {
                "path": self.path,
                "auth": self.headers.get("authorization"),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        status, body, delay = Handler.reply
        time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case)

    def log_message(self, *args: Any) -> None:
        """Quiet: the test's output is the assertions, not an access log."""


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    Handler.seen = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _provider(base_url: str, **kw: Any) -> ai.OpenAICompatible:
    return ai.OpenAICompatible(base_url=base_url, model="llama3.1", **kw)


CHAT = [{"role": "user", "content": "hi"}]
GOOD = {"suggestions": [{"text": "Tuesday at 5 works for a viewing.", "intent": "viewing"}]}


def test_good_json_and_the_wire_format(server):
    Handler.reply = (200, _completion(json.dumps(GOOD)), 0.0)
    provider = _provider(server + "/", api_key="sk-test", temperature=0.2)
    answer = provider.complete(CHAT)
    assert ai_replies.parse_suggestions(answer) == [
        Suggestion("Tuesday at 5 works for a viewing.", "viewing")
    ]
    [request] = Handler.seen
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    assert request["body"] == {"model": "llama3.1", "messages": CHAT, "temperature": 0.2}
    assert provider.name == "openai-compatible:llama3.1"


def test_no_key_no_authorization_header(server):
    Handler.reply = (200, _completion("[]"), 0.0)
    _provider(server).complete(CHAT)
    assert Handler.seen[0]["auth"] is None


def test_fenced_json(server):
    Handler.reply = (200, _completion("Sure!\n```json\n" + json.dumps(GOOD) + "\n```"), 0.0)
    assert len(ai_replies.parse_suggestions(_provider(server).complete(CHAT))) == 1


def test_junk_text_parses_to_nothing(server):
    Handler.reply = (200, _completion("I am a teapot, not JSON."), 0.0)
    assert ai_replies.parse_suggestions(_provider(server).complete(CHAT)) == []


@pytest.mark.parametrize(
    "body", [b"not json", b'{"choices": []}', b'{"choices": [{"message": {"content": 5}}]}']
)
def test_a_body_that_is_not_a_completion(server, body):
    Handler.reply = (200, body, 0.0)
    with pytest.raises(ai.ProviderError, match=r"not a chat completion|no text"):
        _provider(server).complete(CHAT)


def test_server_error(server):
    Handler.reply = (500, b'{"error": "boom"}', 0.0)
    with pytest.raises(ai.ProviderError, match="HTTP 500"):
        _provider(server).complete(CHAT)


def test_timeout(server):
    Handler.reply = (200, _completion(json.dumps(GOOD)), 2.0)
    started = time.monotonic()
    with pytest.raises(ai.ProviderError, match="timed out"):
        _provider(server, timeout_seconds=0.3).complete(CHAT)
    assert time.monotonic() - started < 1.5


def test_connection_refused():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    httpd.server_close()  # nothing listens there now
    with pytest.raises(ai.ProviderError, match="could not be reached"):
        _provider(f"http://127.0.0.1:{port}/v1").complete(CHAT)


def test_the_key_is_in_no_error(server):
    Handler.reply = (401, b'{"error": "bad key sk-secret"}', 0.0)
    with pytest.raises(ai.ProviderError) as failed:
        _provider(server, api_key="sk-secret").complete(CHAT)
    assert "sk-secret" not in str(failed.value)


def test_from_settings():
    assert ai.from_settings(Settings(ai_base_url=None)) is None
    provider = ai.from_settings(
        Settings(ai_base_url="http://127.0.0.1:11434/v1", ai_model="qwen2.5", ai_timeout_seconds=3)
    )
    assert isinstance(provider, ai.OpenAICompatible)
    assert provider.name == "openai-compatible:qwen2.5" and provider.timeout_seconds == 3


# --- the service over the wire ----------------------------------------------------------------


def test_the_service_over_the_wire(db, server):

    operator = factories.user(db, "operator", tier="premium")
    owner = factories.user(db, "owner")
    prop = factories.listing(db, owner, title="Bayview Loft")
    tid = threads.get_or_create_thread(
        user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=db
    ).id
    messages.send_message(user_id=owner.id, thread_id=tid, body="When can you visit?", db=db)
    Handler.reply = (200, _completion("```\n" + json.dumps(GOOD) + "\n```"), 0.0)
    found = ai_replies.suggest_replies(
        user_id=operator.id, thread_id=tid, provider=_provider(server), db=db
    )
    assert found.provider == "openai-compatible:llama3.1"
    assert [s.intent for s in found.suggestions] == ["viewing"]
    assert "When can you visit?" in Handler.seen[0]["body"]["messages"][1]["content"]
    Handler.reply = (503, b"", 0.0)
    down = ai_replies.suggest_replies(
        user_id=operator.id, thread_id=tid, provider=_provider(server), db=db
    )
    assert down.suggestions == () and down.notice == ai_replies.NOTICE_UNAVAILABLE
