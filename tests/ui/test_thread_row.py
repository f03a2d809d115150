"""Inbox row details computed in Python: initials and the counterparty's avatar colour."""

from __future__ import annotations

import uuid

from arbibase_chat.components.status_badge import THREAD_STATUS_COLORS
from arbibase_chat.components.thread_row import AVATAR_COLORS, avatar_color, initials


def test_initials_take_first_and_last_word() -> None:
    assert initials("Olivia Hart") == "OH"
    assert initials("alice") == "A"
    assert initials("Jean-Luc  van der Berg") == "JB"
    assert initials("   ") == "?"


def test_avatar_colour_is_stable_per_counterparty_and_spread_across_people() -> None:
    someone = str(uuid.uuid4())
    assert avatar_color(someone) == avatar_color(someone)  # same person, same colour
    colours = {avatar_color(str(uuid.uuid4())) for _ in range(200)}
    assert colours <= set(AVATAR_COLORS) and "gray" not in colours
    assert len(colours) >= len(AVATAR_COLORS) - 2  # not every avatar the same grey


def test_status_colours_are_one_map_for_rows_and_header() -> None:
    # Archived reads gray, closed orange, wherever a status shows (rows and thread header).
    assert THREAD_STATUS_COLORS == {"active": "green", "archived": "gray", "closed": "orange"}
