"""Public URL shapes that more than one layer needs: plain strings, no framework, no database.

The API serves an attachment at `/api/attachments/{id}` (api/routes/attachments.py); the
services hand that URL out in every attachment record and accept it, and nothing else of this
site, as a message's `attachment_url`. One constant here keeps the three from drifting while
services/ stays free of HTTP routing (it never names a route itself).
"""

from __future__ import annotations

import re
import uuid

ATTACHMENTS = "/api/attachments/"
#: The API route (FastAPI path syntax).
ATTACHMENT_ROUTE = ATTACHMENTS + "{attachmentId}"
THUMBNAIL_QUERY = "?variant=thumbnail"

#: The one site path a message may link to: a file uploaded here, or its thumbnail.
ATTACHMENT_PATH = re.compile(
    re.escape(ATTACHMENTS) + r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
    r"(\?variant=thumbnail)?"
)


def attachment(attachment_id: uuid.UUID) -> str:
    return f"{ATTACHMENTS}{attachment_id}"


def attachment_thumbnail(attachment_id: uuid.UUID) -> str:
    return attachment(attachment_id) + THUMBNAIL_QUERY


VERIFICATION = "/api/verification"
#: Where the owner and staff download a verification claim's proof document.
VERIFICATION_PROOF_ROUTE = VERIFICATION + "/claims/{claimId}/proof"


def verification_proof(claim_id: uuid.UUID) -> str:
    return f"{VERIFICATION}/claims/{claim_id}/proof"


EMAIL_UNSUBSCRIBE = "/api/email/unsubscribe/"
#: The e-mails' one-click unsubscribe (RFC 8058; POST mutes the thread, GET only asks).
EMAIL_UNSUBSCRIBE_ROUTE = EMAIL_UNSUBSCRIBE + "{token}"


def email_unsubscribe(token: str) -> str:
    return EMAIL_UNSUBSCRIBE + token
