"""The denylist every request reads: an in-memory copy of PostgreSQL's `revoked_tokens`.

PostgreSQL is the record (a revocation commits with the mutation that caused it); each process
keeps the unexpired rows in a dict and answers lookups from it (well under a microsecond). The
copy stays current three ways:
- a revocation made here enters it at once (before commit: a rolled-back one refuses, never
  admits, until it ages out of `GRACE_SECONDS`);
- a revocation made by another process arrives through the feed (Redis pub/sub with REDIS_URL);
- every REVOCATION_RESYNC_SECONDS the whole copy is reloaded from PostgreSQL, which also catches
  what the feed missed.
The copy is trusted only while it is fresh (reloaded within REVOCATION_STALENESS_SECONDS) and,
with a feed, only if it was reloaded after the feed last (re)connected: a Redis that restarted
empty or dropped our subscription may have lost revocations, so until the reload that follows
the reconnection every lookup asks PostgreSQL. If PostgreSQL does not answer either, the lookup
fails closed (DependencyUnavailable: the client is told to retry), never admitting a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.outages import DependencyUnavailable
from services.revocation import PostgresDenylist, Revocation

logger = logging.getLogger(__name__)
# How long a revocation heard here (or through the feed) is kept though PostgreSQL's copy lacks
# it: the row may not have committed when a concurrent reload read the table.
CLOSE_SECONDS = 2.0  # how long close() waits for its background tasks to stop
GRACE_SECONDS = 60.0


class RevocationFeed(Protocol):
    """Tells every process about a revocation as it happens (services/revocation_feed.py)."""

    @property
    def live_since(self) -> float | None:
        """Monotonic time the feed last became live; None while it is down."""
        ...

    async def publish(self, revocation: Revocation) -> None: ...

    async def run(
        self, deliver: Callable[[Revocation], None], reconnected: Callable[[], None]
    ) -> None:
        """Listen until cancelled: `deliver` each revocation, `reconnected` on each (re)connect."""
        ...


@dataclass
class CacheStatus:
    answering: str  # "memory" or "postgres"
    entries: int
    synced_seconds_ago: float | None
    feed: str  # "live", "down" or "none"


class RevocationCache:
    def __init__(
        self,
        postgres: PostgresDenylist,
        feed: RevocationFeed | None,
        *,
        resync_seconds: float,
        staleness_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.postgres = postgres
        self.feed = feed
        self.resync_seconds = resync_seconds
        self.staleness_seconds = staleness_seconds
        self.clock = clock
        self.synced_at: float | None = None  # when the last successful reload started
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (revoked_at, expires_at)
        self._heard: dict[str, float] = {}  # key -> when it came from here or the feed
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._reload: asyncio.Task[None] | None = None

    # -- the Denylist protocol ------------------------------------------------------------
    async def revoke(
        self, session: AsyncSession, key: str, *, revoked_at: datetime, expires_at: datetime
    ) -> None:
        await self.postgres.revoke(session, key, revoked_at=revoked_at, expires_at=expires_at)
        revocation = Revocation(key, revoked_at.timestamp(), expires_at.timestamp())
        self.remember(revocation)
        if self.feed is not None:
            try:
                await self.feed.publish(revocation)
            except Exception:  # the others reload within REVOCATION_RESYNC_SECONDS
                logger.warning("revocation feed unavailable: %s not published", key.split(":")[0])

    async def lookup(self, keys: Sequence[str]) -> dict[str, datetime]:
        if self.trusted():
            now = time.time()
            found: dict[str, datetime] = {}
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None and entry[1] > now:
                    found[key] = datetime.fromtimestamp(entry[0], UTC)
            return found
        self.reload_soon()
        try:
            return await self.postgres.lookup(keys)
        except Exception as error:  # cannot confirm the token is not revoked: refuse
            logger.warning("revocation lookup failed in memory and PostgreSQL: %r", error)
            raise DependencyUnavailable(
                "postgres", "revocations cannot be checked right now; retry shortly"
            ) from error

    # -- keeping the copy current -----------------------------------------------------------
    def trusted(self) -> bool:
        synced = self.synced_at
        if synced is None or self.clock() - synced > self.staleness_seconds:
            return False
        if self.feed is None:
            return True
        live = self.feed.live_since
        return live is not None and synced >= live

    def remember(self, revocation: Revocation) -> None:
        self._heard[revocation.key] = self.clock()
        self._entries[revocation.key] = _newer(self._entries.get(revocation.key), revocation)

    async def reload(self) -> None:
        """Replace the copy with PostgreSQL's rows (plus what was heard since and not there)."""
        async with self._lock:
            started = self.clock()
            rows = await self.postgres.load()
            entries = {row.key: (row.revoked_at, row.expires_at) for row in rows}
            horizon = self.clock() - GRACE_SECONDS
            for key, heard_at in list(self._heard.items()):
                if heard_at < horizon:
                    del self._heard[key]
                elif (kept := self._entries.get(key)) is not None:
                    entries[key] = _newer(entries.get(key), Revocation(key, *kept))
            now = time.time()
            self._entries = {key: entry for key, entry in entries.items() if entry[1] > now}
            self.synced_at = started

    def reload_soon(self) -> None:
        """Start a reload in the background unless one is under way."""
        if self._reload is None or self._reload.done():
            self._reload = asyncio.create_task(self._reload_quietly(), name="revocation-reload")

    async def _reload_quietly(self) -> None:
        try:
            await self.reload()
        except Exception as error:
            logger.warning("revocations could not be reloaded from PostgreSQL: %r", error)

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self.resync_seconds)
            await self._reload_quietly()

    async def start(self) -> None:
        await self._reload_quietly()
        self._tasks.append(asyncio.create_task(self._reload_forever(), name="revocation-resync"))
        if self.feed is not None:
            feed = self.feed.run(self.remember, self.reload_soon)
            self._tasks.append(asyncio.create_task(feed, name="revocation-feed"))

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._reload] if self._reload else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: a pub/sub connection can hang while closing (seen in redis-py's aclose
            # under cancellation), and shutdown must not wait on it forever.
            _, pending = await asyncio.wait(tasks, timeout=CLOSE_SECONDS)
            for task in pending:
                logger.warning(
                    "%s did not stop within %g s; left behind", task.get_name(), CLOSE_SECONDS
                )
        self._tasks.clear()

    def status(self) -> CacheStatus:
        feed = (
            "none" if self.feed is None else "live" if self.feed.live_since is not None else "down"
        )
        return CacheStatus(
            answering="memory" if self.trusted() else "postgres",
            entries=len(self._entries),
            synced_seconds_ago=None
            if self.synced_at is None
            else round(self.clock() - self.synced_at, 3),
            feed=feed,
        )


def _newer(entry: tuple[float, float] | None, revocation: Revocation) -> tuple[float, float]:
    """A key revoked twice keeps the later cutoff and the later expiry (both only refuse more)."""
    if entry is None:
        return revocation.revoked_at, revocation.expires_at
    return max(entry[0], revocation.revoked_at), max(entry[1], revocation.expires_at)
