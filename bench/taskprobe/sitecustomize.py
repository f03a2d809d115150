"""Where a live worker's asyncio tasks wait (bench/FAULTS.md finding 6, bench/README.md #14
session 8): with this folder on PYTHONPATH, SIGRTMIN+4 makes every process with a running
event loop write its tasks, grouped by Reflex event and await chain, to
/tmp/tasks-<pid>-<n>.txt. A probe for bench runs, never loaded by the app itself:

    PYTHONPATH=bench/taskprobe python -m bench.faults --scenario storm &
    while sleep 5; do pkill -SIGRTMIN+4 -f gunicorn; done
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import time
from types import FrameType
from typing import Any

_dumps = [0]
_APP_FRAMES = ("arbibase", "thread_", "delivery", "hub")


def _chain(task: asyncio.Task[Any]) -> list[str]:
    """The task's await chain, outermost first, as file:line:function."""
    out: list[str] = []
    coro: Any = task.get_coro()
    for _ in range(60):
        if coro is None:
            break
        frame = (
            getattr(coro, "cr_frame", None)
            or getattr(coro, "ag_frame", None)
            or getattr(coro, "gi_frame", None)
        )
        if frame is None:
            out.append(type(coro).__name__)
            break
        code = frame.f_code
        out.append(f"{os.path.basename(code.co_filename)}:{frame.f_lineno}:{code.co_name}")
        coro = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "ag_await", None)
            or getattr(coro, "gi_yieldfrom", None)
        )
    return out


def _event_name(task: asyncio.Task[Any]) -> str:
    name = task.get_name()  # Reflex names event tasks "reflex_event|<handler>|<token>|<txid>"
    if not name.startswith("reflex_event|"):
        return "-"
    return ".".join(name.split("|")[1].rsplit(".", 2)[-2:])


def _dump(signum: int, frame: FrameType | None) -> None:
    loop = asyncio.events._get_running_loop()
    if loop is None:
        return
    _dumps[0] += 1
    counts: collections.Counter[str] = collections.Counter()
    for task in asyncio.all_tasks(loop):
        chain = _chain(task)
        ours = [c for c in chain if any(part in c for part in _APP_FRAMES)]
        inner = " <- ".join(reversed(chain[-6:]))
        counts[f"[{_event_name(task)}] {' > '.join(ours[-3:])} || {inner}"] += 1
    with open(f"/tmp/tasks-{os.getpid()}-{_dumps[0]}.txt", "w") as out:
        out.write(f"{time.time():.1f} {sum(counts.values())} tasks\n")
        for key, n in counts.most_common(60):
            out.write(f"{n:6d} {key}\n")


signal.signal(signal.SIGRTMIN + 4, _dump)
