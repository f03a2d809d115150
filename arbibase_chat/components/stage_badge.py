"""A deal stage as a coloured badge (thread header, inbox rows, Portfolio)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat.services.deals import STAGE_LABELS

STAGE_COLORS = {
    "inquiry": "gray",
    "offer_sent": "blue",
    "countered": "amber",
    "agreed": "green",
    "lease_drafted": "teal",
    "signed": "grass",
    "lost": "red",
}


def stage_badge(stage: Any, **props: Any) -> rx.Component:
    return rx.match(
        stage,
        *[
            (
                key,
                rx.badge(
                    STAGE_LABELS[key],
                    color_scheme=color,
                    variant="solid" if key == "signed" else "soft",
                    # Step-12 text: Radix's soft teal / amber text misses WCAG AA at 12 px.
                    high_contrast=True,
                    class_name="stage-badge",
                    **props,
                ),
            )
            for key, color in STAGE_COLORS.items()
        ],
        rx.fragment(),
    )
