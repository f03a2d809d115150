"""The one private Reflex name the realtime path reads (realtime/reflex_sockets.py).

Fails loudly when a Reflex upgrade renames the token manager or its mapping: then find the
new public way (or the new names) before anything else, since deliveries depend on it."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

from reflex.app import EventNamespace

from arbibase_chat.realtime.reflex_sockets import connected_here


def test_reflex_still_has_the_names_we_read() -> None:
    source = inspect.getsource(EventNamespace)
    assert "self._token_manager" in source, "EventNamespace._token_manager is gone"
    from reflex.utils.token_manager import TokenManager

    manager_source = inspect.getsource(TokenManager)
    assert "self.token_to_socket" in manager_source and "instance_id" in manager_source


def test_connected_here_reads_only_this_workers_sockets() -> None:
    manager = SimpleNamespace(
        instance_id="me",
        token_to_socket={
            "mine": SimpleNamespace(instance_id="me"),
            "elsewhere": SimpleNamespace(instance_id="other-worker"),
        },
    )
    app = SimpleNamespace(event_namespace=SimpleNamespace(_token_manager=manager))
    assert connected_here(app, "mine")
    assert not connected_here(app, "elsewhere")
    assert not connected_here(app, "unknown")
    assert not connected_here(SimpleNamespace(event_namespace=None), "mine")
