"""`?m=<seq>` on a thread page (pages/thread_jump.py): only a plain positive number counts."""

from __future__ import annotations

import pytest

from arbibase_chat import routes
from arbibase_chat.pages.thread_jump import wanted_seq


@pytest.mark.parametrize(
    ("params", "seq"),
    [
        ({"m": "10"}, 10),
        ({"m": "1"}, 1),
        ({}, None),
        ({"m": "0"}, None),
        ({"m": "-3"}, None),
        ({"m": "1e3"}, None),
        ({"m": " 7"}, None),
        ({"m": "9" * 13}, None),
        ({"m": ["10"]}, None),
        ({"m": "١٢"}, None),  # Arabic-Indic digits: str.isdigit says yes, int() would take them
    ],
)
def test_wanted_seq(params, seq):
    assert wanted_seq(params) == seq


def test_links():
    assert routes.thread_at("abc", 12) == "/threads/abc?m=12"
    assert routes.search_for("a&b c") == "/search?q=a%26b%20c"
