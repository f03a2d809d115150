"""The production server's worker: Reflex's gunicorn + uvicorn (h11) worker, websocket
compression off.

Browsers offer permessage-deflate on every websocket, and uvicorn accepts it by default: then
each open tab holds a zlib compressor and decompressor on the server for as long as it is
open, about 43 KB of the worker's memory per tab (measured: a bare uvicorn websocket, 1,000
connections, 21.5 KB each without compression, 64.2 KB with; bench/README.md, #14 target 5).
What compression would save is small here: a state update is about 2 KB of JSON on average
and goes to one tab. rxconfig.py selects this worker (GUNICORN_CMD_ARGS).

The worker also collects garbage less often than Python's defaults (700, 10, 10): every
connected tab keeps a few thousand objects (its state tree, socket plumbing) that each full
collection walks, 125-350 ms with 1,000 tabs, and with the defaults one came every ten
seconds or so under traffic (9 in one bench run; idle delivery p99 41 ms of 100 sends, max
363). With GC_THRESHOLDS: none in the same run, the middle generation's passes 16-27 ms,
idle p99 13.9 ms, RSS per tab as before (bench/README.md, issue #14 session 14). Python
still collects fully once the objects that survived since the last full pass reach a
quarter of the heap.
"""

from __future__ import annotations

import gc

from uvicorn.workers import UvicornH11Worker

# Young collections every 10,000 net allocations (not 700): fewer short-lived objects are
# promoted by being alive at the wrong moment; a full collection is considered after 100
# middle ones (not 10). (50,000, 20, 100) also ended the full passes but not the tail (idle
# max 168 ms, its middle passes not logged); (700, 10, 100) still made one of 373 ms.
GC_THRESHOLDS = (10_000, 10, 100)


class SocketWorker(UvicornH11Worker):
    CONFIG_KWARGS = {
        **UvicornH11Worker.CONFIG_KWARGS,
        "ws_per_message_deflate": False,
    }

    def init_process(self) -> None:
        gc.set_threshold(*GC_THRESHOLDS)
        super().init_process()
