"""Solid buttons in a colour (Accept, Delete, Close…) that pass WCAG AA in both themes.

Radix's solid red / green put white text on step 9 (3.9:1 and 3.2:1: the axe audit fails
them). Step 11 under step 1 reads at over 4.5:1 in light (a dark colour, near-white text) and
in dark (a light colour, near-black text) alike; step 12 on hover.
"""

from __future__ import annotations

from typing import Any

import reflex as rx


def solid(color: str) -> dict[str, Any]:
    """Props for an `rx.button` in `color` ("red", "green", ...)."""
    return {
        "color_scheme": color,
        "background": rx.color(color, 11),
        "color": rx.color(color, 1),
        "_hover": {"background": rx.color(color, 12)},
    }


def solid_either(condition: Any, if_true: str, if_false: str) -> dict[str, Any]:
    """`solid` in one of two colours, following a Var (e.g. Accept green, Withdraw red)."""
    yes, no = solid(if_true), solid(if_false)
    return {
        "color_scheme": rx.cond(condition, if_true, if_false),
        "background": rx.cond(condition, yes["background"], no["background"]),
        "color": rx.cond(condition, yes["color"], no["color"]),
        "_hover": {
            "background": rx.cond(
                condition, yes["_hover"]["background"], no["_hover"]["background"]
            )
        },
    }
