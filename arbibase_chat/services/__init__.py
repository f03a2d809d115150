"""The rules of arbibase_chat: every authorization check and every write lives here.

Zulip's `zerver/actions` style: keyword-only functions, one transaction per write, domain
errors from `errors.py`, and domain events published only after the transaction commits
(`events.py`). Nothing here imports reflex, fastapi or starlette (tests/test_layering.py).
"""
