"""The rules of arbibase_chat: every authorization check and every write lives here.

Zulip's `zerver/actions` style: keyword-only functions, one transaction per write, domain
errors from `errors.py`, and domain events published only after the transaction commits
(`events.py`). Nothing here imports reflex, fastapi or starlette (tests/test_layering.py).

Public functions are the validation boundary: they take the caller's raw input (typed `Any`)
and parse it first; the helpers they share take typed values (`uuid.UUID`, a `Draft`, an
`Opening`). Reads are named for what they return (`get_thread`, `list_messages`,
`unread_total`), writes for what they do (`send_message`, `mark_read`, `update_thread`);
`*_in(session, ...)` work inside a transaction the caller opened.
"""
