"""The one place that reads Reflex internals: is a client token's socket on this worker?

Reflex 0.10 has no public, cheap way to ask. `EventNamespace.token_to_sid` is public but
copies every connection into a new dict on each access (measured: 8 % of a worker's CPU at
1,000 sessions), so this reads the token manager's own mapping, a plain lookup. With Redis
the mapping also holds sockets of other workers: those belong to their own hubs.
`tests/realtime/test_reflex_sockets.py` fails loudly when an upgrade changes these names.
"""

from __future__ import annotations

from typing import Any


def connected_here(app: Any, token: str) -> bool:
    """True when the tab `token` has a live socket on this worker."""
    namespace = app.event_namespace
    if namespace is None:
        return False
    manager = namespace._token_manager
    record = manager.token_to_socket.get(token)
    return record is not None and record.instance_id == manager.instance_id
