"""Run the (synchronous) services off the event loop.

The services use a blocking SQLAlchemy engine; Reflex handlers are coroutines. Every call from
a handler goes through `call`, so database and argon2 work never blocks the loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


async def call(service: Callable[..., R], /, **kwargs: Any) -> R:
    return await asyncio.to_thread(functools.partial(service, **kwargs))
