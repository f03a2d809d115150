"""A thread's status (active / archived / closed) as a badge: one colour map for the inbox
rows and the thread header, so a status reads the same everywhere."""

from __future__ import annotations

from typing import Any

import reflex as rx

THREAD_STATUS_COLORS = {"active": "green", "archived": "gray", "closed": "orange"}
THREAD_STATUS_LABELS = {"active": "Active", "archived": "Archived", "closed": "Closed"}


def thread_status_badge(status: Any, **props: Any) -> rx.Component:
    props.setdefault("variant", "soft")
    props.setdefault("high_contrast", True)  # WCAG AA at 12 px in every colour and theme
    return rx.match(
        status,
        *[
            (
                key,
                rx.badge(
                    THREAD_STATUS_LABELS[key],
                    color_scheme=color,
                    class_name="thread-status",
                    **props,
                ),
            )
            for key, color in THREAD_STATUS_COLORS.items()
        ],
        rx.badge(status, color_scheme="gray", class_name="thread-status", **props),
    )
