"""How `make test` spreads the suite over worker processes (pytest-xdist, Makefile
PYTEST_WORKERS): whole files per worker, in collection order.

- Whole files: the tests of a file may build on each other's data on the server the file's
  worker started (each worker has its own live server, databases and temporary files).
- Collection order: browser tests come after every other test of a process
  (tests/e2e/conftest.py says why). A file whose browser tests were moved to the end is two
  runs of tests, scheduled apart, so no worker runs an async test after a browser test.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling


class FileRunsInOrder(LoadScopeScheduling):
    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        # xdist would put the biggest files first, browser files among them.
        config.option.loadscopereorder = False
        self._runs: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._runs is None:
            self._runs = file_runs(next(iter(self.registered_collections.values())))
        return self._runs[nodeid]


def file_runs(collection: Any) -> dict[str, str]:
    """Node id → "file#n": the n-th unbroken run of that file's tests in the collection."""
    runs: dict[str, str] = {}
    seen: dict[str, int] = {}
    previous = None
    for nodeid in collection:
        file = nodeid.split("::", 1)[0]
        if file != previous:
            seen[file] = seen.get(file, 0) + 1
            previous = file
        runs[nodeid] = f"{file}#{seen[file]}"
    return runs
