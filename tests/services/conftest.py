"""Service tests send many messages in a row as one user (history pages, races). The per-user
send limit would refuse them, so it is off here; tests/services/test_ratelimit.py installs
real limiters (in-process and Redis) where the limit itself is under test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from arbibase_chat.services import ratelimit


@pytest.fixture(autouse=True)
def _no_send_limit() -> Iterator[None]:
    with ratelimit.use(ratelimit.Unlimited()):
        yield
