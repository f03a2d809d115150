"""Run the (synchronous) services off the event loop.

The services use a blocking SQLAlchemy engine; Reflex handlers are coroutines. Every call from
a handler goes through `call`, so database and argon2 work never blocks the loop.

`sends` bounds the message writes one worker has in flight. Past that the worker is
overloaded: more accepted sends would only queue (measured: at 5x capacity, deliveries
starved to ~1 % of what was stored, with 24 s latency), so the next one is refused at once
with `Busy` (nothing stored; the UI marks it failed with Retry, the API answers 503 with
Retry-After) and the worker's time goes to delivering what it accepted.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from arbibase_chat.config import get_settings
from arbibase_chat.services.errors import Busy

R = TypeVar("R")

BUSY = "The server is busy right now; nothing was sent. Try again in a moment."


async def call(service: Callable[..., R], /, **kwargs: Any) -> R:
    return await asyncio.to_thread(functools.partial(service, **kwargs))


# The realtime hub's reads run on threads of their own: on the default executor they would
# queue behind every pending send under load, and deliveries would wait for writes.
_realtime_reads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="realtime-read")


async def call_realtime(service: Callable[..., R], /, **kwargs: Any) -> R:
    """Like `call`, on the hub's own threads (reads that deliveries wait for)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _realtime_reads, contextvars.copy_context().run, functools.partial(service, **kwargs)
    )


class Gate:
    """At most `limit()` calls in flight through this gate (per worker); 0 = no bound."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self.in_flight = 0
        self.refused = 0

    async def call(self, service: Callable[..., R], /, **kwargs: Any) -> R:
        limit = self._limit()
        if limit and self.in_flight >= limit:
            self.refused += 1
            raise Busy(BUSY)
        self.in_flight += 1  # one event loop per worker: no lock needed
        try:
            return await call(service, **kwargs)
        finally:
            self.in_flight -= 1


sends = Gate(lambda: get_settings().max_sends_in_flight)
