"""Reflex config of the hub-vs-SharedState bench app (bench/sharedstate.py starts it).

Memory state without Redis (one worker, as the product runs without Redis); Redis state when
REDIS_URL is set (several workers).
"""

import os
from typing import Any

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

_redis_url = os.environ.get("REDIS_URL") or None
_state: dict[str, Any] = (
    {"redis_url": _redis_url, "state_manager_mode": rx.constants.StateManagerMode.REDIS}
    if _redis_url
    else {"state_manager_mode": rx.constants.StateManagerMode.MEMORY}
)

config = rx.Config(
    app_name="sharedbench",
    telemetry_enabled=False,
    db_url=None,
    disable_plugins=[SitemapPlugin],
    show_built_with_reflex=False,
    **_state,
)
