"""Replies by e-mail (issue #12): an e-mail to `reply+<token>@EMAIL_REPLY_DOMAIN` becomes a
message in the token's thread, sent as the token's user.

`post_reply` is what the inbound SMTP listener (arbibase_chat/mail/inbound.py) calls with the
e-mail's From header, Message-ID and plain text. In order:

1. the sender's address takes one token from its rate-limit bucket (`email-in`; nothing else
   is done for a sender over the limit);
2. the token must resolve (`email_tokens.resolve`: well-formed, known, not expired), else
   `UnknownReplyAddress`;
3. the From address must be the token's user's, compared case-insensitively on the whole
   address, else `SenderMismatch` (the token is the credential; the From check stops a
   forwarded or leaked notification from posting under someone else's mailbox);
4. the quoted message and the signature are cut (mail-parser-reply); nothing left is
   `EmptyReply`;
5. the thread's plan must include `email_fallback` (Premium), else `UpgradeRequired`;
6. `messages.send_message` as the token's user, which applies every rule a send from the app
   does (participant, closed thread, unverified owner, the send limit) and is idempotent on
   `client_msg_id = "email:" + sha256(Message-ID)`: the same e-mail delivered twice (a mail
   server's retry) posts once. Without a Message-ID the key hashes the token, the sender and
   the text instead, so a retry still posts once.

The token binds the thread: a reply can only ever land in the thread it was issued for.
"""

from __future__ import annotations

import hashlib
import re
from email.utils import getaddresses

from mailparser_reply.parser import EmailMessage  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine

from arbibase_chat.models import MessagePublic
from arbibase_chat.services import (
    _access,
    email_tokens,
    messages,
    policy,
    ratelimit,
    validation,
)
from arbibase_chat.services._tx import reading
from arbibase_chat.services.errors import (
    EmptyReply,
    SenderMismatch,
    UnknownReplyAddress,
    UpgradeRequired,
)

# mail-parser-reply's header and signature patterns for these languages (English is always
# included): "On ... wrote:", "El ... escribió:", Outlook's "From: / Sent:" block, ...
LANGUAGES = ("en", "es", "fr", "de")
RETRY_KEY_PREFIX = "email:"
# validation.client_msg_id allows 64 characters.
_RETRY_KEY_HASH_CHARS = 64 - len(RETRY_KEY_PREFIX)
_QUOTED_LINE = re.compile(r"^\s*>")
# mbox-style "From " escaping (Python's smtplib and many relays write ">From " for a line that
# starts with "From "): the writer's own line, not a quote.
_MANGLED_FROM = re.compile(r"^>From ", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
# Only the start of a long e-mail is read: a reply that can be posted (at most
# MAX_MESSAGE_CHARS) and the quote header after it lie well within it, and the parser's
# patterns take seconds on megabytes of quoted history (measured: 5 MB, 3 s).
MAX_TEXT_CHARS = 20 * validation.MAX_MESSAGE_CHARS

UNKNOWN_ADDRESS = "this reply address is unknown or has expired; reply in the app instead"
SENDER_MISMATCH = (
    "the sender does not match the reply address: reply from the address the notification "
    "was sent to"
)
EMPTY_REPLY = "no reply text was found above the quoted message"
NOT_ON_PLAN = "replying by e-mail is not included in this conversation's plan; reply in the app"


def reply_text(text: str) -> str:
    """The new text of a reply: without the quoted message ("On ... wrote:" and what follows,
    Outlook's header block, "> " lines) and without the signature ("-- ", "Sent from my ...",
    "Best regards, ..."). "" when nothing is left."""
    text = text[:MAX_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    text = _MANGLED_FROM.sub("From ", text)
    parsed = EmailMessage(
        text=text,
        languages=list(LANGUAGES),
        # "- 12 months\n- $2,000 deposit" is a list of terms, not a "-Alice" signature.
        keep_hyphen_lists=True,
    ).read()
    if not parsed.replies or parsed.replies[0].headers:
        return ""  # the e-mail starts with the quoted message: nothing was written above it
    # Inline answers between quoted lines keep the answers, not the quotes.
    lines = [line for line in parsed.replies[0].body.split("\n") if not _QUOTED_LINE.match(line)]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def sender_address(from_header: str) -> str | None:
    """The one address in a From header, lower-cased; None when there is not exactly one."""
    found = [addr for _name, addr in getaddresses([from_header]) if addr]
    if len(found) != 1:
        return None
    address = found[0].strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in domain:
        return None
    return address


def retry_key(*, message_id: str | None, token: str, sender: str, text: str) -> str:
    """The send's `client_msg_id`: the same e-mail always gives the same key."""
    source = (message_id or "").strip()
    if not source:
        source = "\0".join(("no-message-id", token, sender, text))
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return RETRY_KEY_PREFIX + digest[:_RETRY_KEY_HASH_CHARS]


def post_reply(
    *,
    token: str,
    from_address: str,
    message_id: str | None,
    text: str,
    db: Engine | None = None,
) -> MessagePublic:
    """Post the e-mail's reply in the token's thread as the token's user (see the module)."""
    sender = sender_address(from_address)
    if sender is None:
        raise SenderMismatch(SENDER_MISMATCH, field="from")
    ratelimit.check_email_reply(address=sender)
    owner = email_tokens.resolve(token=token, db=db)
    if owner is None:
        raise UnknownReplyAddress(UNKNOWN_ADDRESS, field="to")
    if sender != owner.email.strip().lower():
        raise SenderMismatch(SENDER_MISMATCH, field="from")
    body = reply_text(text)
    if not body:
        raise EmptyReply(EMPTY_REPLY, field="body")
    with reading(db, as_user=owner.user_id) as session:
        thread, _ = _access.participant_thread(
            session, user_id=owner.user_id, thread_id=owner.thread_id
        )
        if "email_fallback" not in policy.tier_features(policy.operator_tier(session, thread)):
            raise UpgradeRequired(NOT_ON_PLAN, feature="email_fallback")
    return messages.send_message(
        user_id=owner.user_id,
        thread_id=owner.thread_id,
        body=body,
        client_msg_id=retry_key(message_id=message_id, token=token, sender=sender, text=text),
        db=db,
    )
