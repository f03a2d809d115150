"""A thread opened at one message (`/threads/<id>?m=<seq>`, a search result's link; issue #14).

The window opens on the newest page as always; when the message asked for is older, older
pages are added until it is held (as scrolling up would), at most MAX_PAGES of them: a
message further back than that opens the thread at its oldest page held, not 100,000
messages into the browser. assets/jump.js then scrolls to `[data-seq=<seq>]` and marks it
for a moment. A bad `m` is ignored (the thread opens as usual).
"""

from __future__ import annotations

import uuid
from typing import Any

from arbibase_chat.pages.thread_window import PAGE, MessageWindow

MAX_PAGES = 20  # 1,000 messages at most


def wanted_seq(params: dict[str, Any]) -> int | None:
    raw = params.get("m")
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return None
    seq = int(raw)
    return seq if seq >= 1 else None


async def reach(state: Any, user_id: uuid.UUID, window: MessageWindow) -> None:
    """Page older into `window` until it holds the wanted message (ChatState: `state`)."""
    seq = wanted_seq(state.router.page.params)
    if seq is None:
        return
    for _ in range(MAX_PAGES):
        held = [v.seq for v in window.items if v.status == "sent"]
        if not held or min(held) <= seq or not window.has_older:
            return
        batch = await state._page(user_id, before=window.first_id())
        window.prepend_older(state._views(batch), page=PAGE)
