"""One message on the tab's side, in process, with no server: the open thread gets one new
message (window merge, day labels and sender groups, the split into parts, Reflex's delta and
its JSON), with --history messages already in view.

    .venv/bin/python -m bench.window [--history 100] [--messages 2000] [--repeat 3]

Prints the JSON bytes per message (exact: the same run gives the same bytes) and the CPU
per message (best of --repeat runs; the machine's noise is one-sided). The part of
bench/realtime.py's CPU per message that the window's shape decides, without its ±20 % spread.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import reflex as rx
from reflex_base.utils.format import json_dumps

from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.textlinks import segments


def view(seq: int, at: datetime) -> MessageView:
    return MessageView(
        id=str(uuid.uuid4()),
        seq=seq,
        mine=seq % 3 == 0,
        sender_name="You" if seq % 3 == 0 else "Dana Owner",
        segments=segments(f"rt s=1 n={seq} t=1765000000.0 is the house still available?"),
        created_at=at.isoformat(),
        status="sent",
        client_msg_id=uuid.uuid4().hex if seq % 3 == 0 else "",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=int, default=100)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = [run(args.history, args.messages) for _ in range(args.repeat)]
    cpu = min(c for c, _ in runs)
    size = runs[0][1]
    print(
        f"history {args.history}: {cpu * 1000:.3f} ms CPU (best of {args.repeat}) and "
        f"{size / 1024:.2f} KB of JSON per message ({args.messages} messages)"
    )


def run(history: int, messages: int) -> tuple[float, float]:
    """(CPU seconds, JSON bytes) per message."""
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    chat = cast(ChatState, root.get_substate(ChatState.get_full_name().split(".")[1:]))
    zone = ZoneInfo("America/New_York")
    start = datetime.now(UTC) - timedelta(hours=2)
    seq = 0
    views = []
    for _ in range(history):
        seq += 1
        views.append(view(seq, start + timedelta(seconds=seq)))
    window = chat._window()
    window.start(views, page=50)
    window.label(zone)
    chat._show(window.items)
    root.get_delta()
    root._clean()
    cpu = 0.0
    size = 0
    for _ in range(messages):
        seq += 1
        new = view(seq, start + timedelta(seconds=seq))
        c0 = time.thread_time()
        window = chat._window()
        window.merge([new])
        window.label(zone)
        chat._show(window.items)
        payload = json_dumps(root.get_delta())
        root._clean()
        cpu += time.thread_time() - c0
        size += len(payload)
    return cpu / messages, size / messages


if __name__ == "__main__":
    main()
