"""The production server's worker: Reflex's gunicorn + uvicorn (h11) worker, websocket
compression off.

Browsers offer permessage-deflate on every websocket, and uvicorn accepts it by default: then
each open tab holds a zlib compressor and decompressor on the server for as long as it is
open, about 43 KB of the worker's memory per tab (measured: a bare uvicorn websocket, 1,000
connections, 21.5 KB each without compression, 64.2 KB with; bench/README.md, #14 target 5).
What compression would save is small here: a state update is about 2 KB of JSON on average
and goes to one tab. rxconfig.py selects this worker (GUNICORN_CMD_ARGS).
"""

from __future__ import annotations

from uvicorn.workers import UvicornH11Worker


class SocketWorker(UvicornH11Worker):
    CONFIG_KWARGS = {
        **UvicornH11Worker.CONFIG_KWARGS,
        "ws_per_message_deflate": False,
    }
