"""Live views register themselves; realtime/ names no page (realtime/views.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import arbibase_chat.arbibase_chat  # noqa: F401  (registers the pages)
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.portfolio import PortfolioState
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.pages.verify import VerifyState
from arbibase_chat.realtime import views
from arbibase_chat.session import SessionState

REALTIME = Path(__file__).resolve().parents[2] / "arbibase_chat" / "realtime"


def test_the_pages_are_live_views_in_order() -> None:
    # The session first: an account change is read before the pages look at the account.
    assert views.registered()[0] is SessionState
    assert {InboxState, ChatState, VerifyState, PortfolioState} <= set(views.registered())
    for cls in views.registered():
        # Backend-only: the browser must never be able to push an update itself.
        assert "_live_apply" not in getattr(cls, "event_handlers", {})
        assert callable(getattr(cls, "_live_apply", None))
        assert callable(getattr(cls, "_live_resync", None))


def test_realtime_imports_no_page() -> None:
    files = sorted(REALTIME.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("arbibase_chat.pages"), path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("arbibase_chat.pages") for a in node.names)


def test_pages_do_not_import_the_hub() -> None:
    pages = REALTIME.parent / "pages"
    for path in sorted(pages.glob("*.py")):
        text = path.read_text()
        assert "realtime.hub" not in text and "realtime import hub" not in text, path.name
