"""Periodic maintenance run by every worker: the upload sweep, the offer expiry, e-mails.

E-mails: every EMAIL_DISPATCH_INTERVAL_SECONDS `mail.dispatcher` sends the notification
e-mails that came due (services/email_outbox.py); every worker runs it, rows are claimed with
FOR UPDATE SKIP LOCKED, so each e-mail goes out once.

Offers: every OFFER_EXPIRY_INTERVAL_SECONDS `offers.expire_due` expires the open offers past
their time and posts the system message that shows it live in both parties' threads (several
workers may run it at once: each offer is re-checked under its thread's row lock).

`lifespan` is a Reflex lifespan task (`app.register_lifespan_task(lifespan)`): every
UPLOAD_SWEEP_INTERVAL_SECONDS it runs `attachments.sweep_pending_uploads` in a thread (never on
the event loop), which deletes uploads never sent in a message once they are older than
PENDING_UPLOAD_GRACE_SECONDS. Several workers may sweep at the same time (rows are claimed with
FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite writes one at a time). The same sweep runs once
from the command line: `python -m arbibase_chat.cli sweep-uploads`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

from arbibase_chat import aio
from arbibase_chat.config import get_settings
from arbibase_chat.mail import dispatcher
from arbibase_chat.services import attachments, offers

log = logging.getLogger(__name__)

# The first sweep waits this long after start-up (plus jitter, so workers started together
# spread out), then every interval.
FIRST_SWEEP_DELAY_SECONDS = 60.0


async def sweep_once() -> int:
    """One sweep, off the event loop; an error is logged, never raised (the next one retries)."""
    try:
        return await aio.call(attachments.sweep_pending_uploads)
    except Exception:
        log.exception("upload sweep failed")
        return 0


async def run_sweeps(*, first_delay: float | None = None) -> None:
    """Sweep forever: after `first_delay`, then every UPLOAD_SWEEP_INTERVAL_SECONDS."""
    interval = get_settings().upload_sweep_interval_seconds
    delay = (
        FIRST_SWEEP_DELAY_SECONDS + random.uniform(0, min(interval, 300))
        if first_delay is None
        else first_delay
    )
    while True:
        await asyncio.sleep(delay)
        await sweep_once()
        delay = get_settings().upload_sweep_interval_seconds


async def expire_offers_once() -> int:
    """One expiry pass, off the event loop; an error is logged (the next pass retries)."""
    try:
        return await aio.call(offers.expire_due)
    except Exception:
        log.exception("offer expiry failed")
        return 0


async def run_offer_expiry() -> None:
    while True:
        await asyncio.sleep(get_settings().offer_expiry_interval_seconds)
        await expire_offers_once()


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Lifespan task: the periodic sweep, offer expiry and e-mail dispatch while it serves."""
    tasks = [
        asyncio.create_task(run_sweeps(), name="upload-sweep"),
        asyncio.create_task(run_offer_expiry(), name="offer-expiry"),
        # The e-mail bridge's outbox (arbibase_chat/mail/dispatcher.py); errors stay inside.
        asyncio.create_task(dispatcher.run_forever(), name="email-dispatch"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
