"""One mutation, one transaction; side effects run only once it has committed.

Services receive the unit of work's session and register effects on it. Jobs (`enqueue`) are
written at once on the same connection and transaction as the change, so they commit or roll back
with it; broker events (`publish`) are held and sent only after commit. Either way no worker and no
subscriber ever hears of a change that did not happen. An event whose publish fails after commit
(Redis away) is queued as a `realtime.publish` job, which a worker retries with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory
from services import jobs

logger = logging.getLogger(__name__)

Event = dict[str, Any]
PUBLISH_JOB = "realtime.publish"


class Publisher(Protocol):
    async def publish(self, topic: str, event: Event) -> None: ...


@dataclass
class UnitOfWork:
    session: AsyncSession
    pending_events: list[tuple[str, Event]] = field(default_factory=list)
    pending_callbacks: list[Callable[[], None]] = field(default_factory=list)

    def publish(self, topic: str, event: Event) -> None:
        """Deliver `event` to `topic` subscribers after commit."""
        self.pending_events.append((topic, event))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` (e.g. count a business event) once the transaction has committed."""
        self.pending_callbacks.append(callback)

    async def enqueue(
        self,
        entrypoint: str,
        payload: Mapping[str, Any] | None = None,
        *,
        priority: int = 0,
        delay: timedelta | None = None,
        dedupe_key: str | None = None,
    ) -> int | None:
        """Queue job `entrypoint` ("<domain>.<verb>") in this transaction; see `jobs.enqueue`."""
        return await jobs.enqueue(
            self.session,
            entrypoint,
            payload,
            priority=priority,
            delay=delay,
            dedupe_key=dedupe_key,
        )


@asynccontextmanager
async def unit_of_work(
    session_factory: SessionFactory, publisher: Publisher
) -> AsyncIterator[UnitOfWork]:
    async with session_factory() as session:
        work = UnitOfWork(session)
        async with session.begin():
            yield work
    # Committed. A failed effect must not turn a committed mutation into an error response.
    for callback in work.pending_callbacks:
        try:
            callback()
        except Exception:
            logger.exception("after-commit callback failed")
    for topic, event in work.pending_events:
        try:
            await publisher.publish(topic, event)
        except Exception:
            logger.warning("publishing to %s failed after commit: queued", topic, exc_info=True)
            await publish_later(session_factory, topic, event)


async def publish_later(session_factory: SessionFactory, topic: str, event: Event) -> None:
    """A job that publishes `event` (retried with backoff); lost only if PostgreSQL is too."""
    try:
        async with session_factory() as session, session.begin():
            await jobs.enqueue(session, PUBLISH_JOB, {"topic": topic, "event": event})
    except Exception:
        logger.exception("event for %s lost: neither published nor queued", topic)
