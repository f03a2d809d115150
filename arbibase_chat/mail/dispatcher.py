"""The outbox's worker: claim → decide and read → compose → send → record, every
EMAIL_DISPATCH_INTERVAL_SECONDS in every worker (maintenance.py's lifespan).

Any number of dispatchers may run at once (several workers, several machines): each pass
claims its own rows (services/email_outbox.claim_due) and records an outcome only while its
claim stands, so a row is sent by one of them. A worker that dies between claim and send
leaves its rows `sending`; after EMAIL_CLAIM_LEASE_SECONDS another pass claims them again.
(A worker that dies after the SMTP server took the e-mail but before recording it would send
it again after the lease: the same Message-ID, which receivers use to drop the copy.)

Database calls go through `aio.call`; the SMTP conversation is aiosmtplib on the loop.
Errors are logged, never raised: a failed send is retried with backoff (email_outbox
.mark_failed_or_retry), a failed pass is simply the next pass's work.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime

from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.config import get_settings
from arbibase_chat.mail import compose, sender
from arbibase_chat.services import email_outbox

log = logging.getLogger(__name__)

# Rows one pass claims; more wait for the next pass (their lease starts only when claimed).
BATCH = 50


async def _one(claim: email_outbox.Claimed, *, db: Engine | None, now: datetime | None) -> str:
    """Handle one claimed row; returns its outcome (sent, skipped, retry, failed, lost)."""
    try:
        outgoing = await aio.call(email_outbox.prepare, claim=claim, now=now, db=db)
    except Exception as exc:
        log.exception("e-mail %s: could not read what it shows", claim.id)
        return await _failed(claim, f"prepare: {type(exc).__name__}: {exc}", db=db, now=now)
    if outgoing is None:
        return "skipped"
    try:
        message = compose.compose(outgoing)
        where = await sender.send(message, recipient=outgoing.recipient_email, outbox_id=claim.id)
    except Exception as exc:
        log.warning("e-mail %s not sent (attempt %d): %s", claim.id, claim.attempts, exc)
        return await _failed(claim, str(exc) or type(exc).__name__, db=db, now=now)
    recorded = await aio.call(
        email_outbox.mark_sent,
        claim=claim,
        message_id=str(message["Message-ID"]),
        through_seq=outgoing.through_seq,
        db=db,
    )
    if not recorded:
        # Our lease ran out while sending and another worker took the row over.
        log.warning("e-mail %s sent (%s) after its claim was taken over", claim.id, where)
        return "lost"
    return "sent"


async def _failed(
    claim: email_outbox.Claimed, error: str, *, db: Engine | None, now: datetime | None
) -> str:
    state = await aio.call(
        email_outbox.mark_failed_or_retry, claim=claim, error=error, now=now, db=db
    )
    if state == "failed":
        log.error("e-mail %s failed after %d attempts: %s", claim.id, claim.attempts, error)
    return {"pending": "retry", "merged": "retry", "failed": "failed"}.get(state or "", "lost")


async def dispatch_once(
    *, limit: int = BATCH, now: datetime | None = None, db: Engine | None = None
) -> Counter[str]:
    """One pass (`now`: the clock, for tests); returns how many rows ended how. Never raises
    (errors are logged)."""
    outcomes: Counter[str] = Counter()
    try:
        claimed = await aio.call(email_outbox.claim_due, limit=limit, now=now, db=db)
    except Exception:
        log.exception("e-mail dispatch: claiming failed")
        return outcomes
    for claim in claimed:
        try:
            outcomes[await _one(claim, db=db, now=now)] += 1
        except Exception:
            # Recording failed (database away): the lease brings the row back later.
            log.exception("e-mail %s: outcome not recorded", claim.id)
            outcomes["error"] += 1
    return outcomes


async def run_forever(*, db: Engine | None = None) -> None:
    """Dispatch every EMAIL_DISPATCH_INTERVAL_SECONDS until cancelled; a full batch goes on
    at once (a backlog drains without waiting an interval per batch)."""
    while True:
        outcomes = await dispatch_once(db=db)
        if outcomes:
            log.info("e-mail dispatch: %s", dict(outcomes))
        if sum(outcomes.values()) < BATCH or outcomes["error"]:
            await asyncio.sleep(get_settings().email_dispatch_interval_seconds)
