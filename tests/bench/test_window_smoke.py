"""bench/window.py runs and measures what it says: bytes per message fall with the parts the
tab already holds (the history is not resent with every message)."""

from __future__ import annotations

from bench.window import run


def test_the_window_bench_measures_bytes_and_cpu() -> None:
    cpu, size = run(history=60, messages=80)
    assert cpu > 0
    # 80 messages of ~430 bytes each: resending the window (60-140 views) every time would be
    # 40-60 KB a message; the parts keep it to a few KB.
    assert 0 < size < 10 * 1024
