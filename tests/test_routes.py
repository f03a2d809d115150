"""`?next=` after logging in goes to a page of this site only (an e-mail's offer link)."""

from __future__ import annotations

import pytest

from arbibase_chat import routes


@pytest.mark.parametrize(
    "value",
    ["/offers/abc?action=accept", "/threads/1", "/inbox", "/"],
)
def test_same_site_paths_are_kept(value: str) -> None:
    assert routes.safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "offers/abc",
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/a\nb",
        "/a\tb",
        "/a\x7fb",
        "/" + "x" * routes.MAX_NEXT_CHARS,
        ["/inbox"],
        42,
    ],
)
def test_anything_else_goes_to_the_inbox(value: object) -> None:
    assert routes.safe_next(value) == routes.INBOX


def test_login_then_round_trips_the_query() -> None:
    assert routes.login_then("/offers/ab?action=decline") == (
        "/login?next=/offers/ab%3Faction%3Ddecline"
    )
    assert routes.login_then("//evil") == "/login?next=/inbox"
