"""prometheus-client's multi-process mode for `serve --workers N` (N > 1).

Each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR; /metrics aggregates the
files of all workers. The directory must be set before any worker imports prometheus_client and
emptied between runs (stale files would add a previous run's counts). Every worker evaluates the
alert rules on the aggregated figures; only the one holding the directory's lock notifies.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

ENV = "PROMETHEUS_MULTIPROC_DIR"
LOCK_FILE = "alerts.lock"


def prepare(workers: int) -> str | None:
    """Set up (or clean) the directory when serving with several workers; return it."""
    if workers <= 1:
        return None
    directory = os.environ.get(ENV) or tempfile.mkdtemp(prefix="bountyexpo-metrics-")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[ENV] = directory
    return directory


def mark_dead(pid: int) -> None:
    """Drop a finished worker's live gauges (in-flight, connections) from the aggregate."""
    directory = os.environ.get(ENV)
    if directory:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


class Leadership:
    """True for the one process that holds the directory's lock (always true outside the mode)."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None

    def held(self) -> bool:
        directory = os.environ.get(ENV)
        if directory is None or self._file is not None:
            return True
        handle = open(Path(directory) / LOCK_FILE, "a")  # noqa: SIM115  (kept open: it is the lock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
