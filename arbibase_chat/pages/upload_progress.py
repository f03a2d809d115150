"""Progress reports of a page's uploads (Reflex's browser side, sent over the socket).

Reports can reach the server after their upload's own request has ended: they wait in the
tab's event queue behind any event still unanswered, while the request's updates do not.
Applied then, they showed the bar again at a lower value (seen in CI). Each upload's reports
end with exactly one at 100 % (the browser's last upload progress event) and come in order,
so the n-th such end closes the n-th upload: a report whose upload's handler has already
finished is dropped.

A state using this keeps two backend-only counters: `_uploads_done`, which its upload handler
adds one to in a `finally` (on every path, redirects included), and `_progress_ends`.
"""

from __future__ import annotations

from typing import Any, Protocol


class CountsUploads(Protocol):
    _uploads_done: int
    _progress_ends: int


def current_fraction(state: CountsUploads, progress: Any) -> float | None:
    """The fraction done that this report gives, or None: not a report, or one of an upload
    whose handler has finished."""
    fraction = progress.get("progress") if isinstance(progress, dict) else None
    if not isinstance(fraction, int | float) or isinstance(fraction, bool):
        return None
    upload_number = state._progress_ends + 1
    if fraction >= 1:
        state._progress_ends += 1
    if upload_number <= state._uploads_done:
        return None
    return max(0.0, min(1.0, float(fraction)))
