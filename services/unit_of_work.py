"""One mutation, one transaction; side effects run only once it has committed.

Services receive the unit of work's session and register effects on it (`publish` now; job
enqueues join with the background-work layer). A rollback drops them all, so no subscriber ever
hears of a change that did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory

logger = logging.getLogger(__name__)

Event = dict[str, Any]


class Publisher(Protocol):
    async def publish(self, topic: str, event: Event) -> None: ...


@dataclass
class UnitOfWork:
    session: AsyncSession
    pending_events: list[tuple[str, Event]] = field(default_factory=list)

    def publish(self, topic: str, event: Event) -> None:
        """Deliver `event` to `topic` subscribers after commit."""
        self.pending_events.append((topic, event))


@asynccontextmanager
async def unit_of_work(
    session_factory: SessionFactory, publisher: Publisher
) -> AsyncIterator[UnitOfWork]:
    async with session_factory() as session:
        work = UnitOfWork(session)
        async with session.begin():
            yield work
    # Committed. A failed publish must not turn a committed mutation into an error response.
    for topic, event in work.pending_events:
        try:
            await publisher.publish(topic, event)
        except Exception:
            logger.exception("publishing to %s failed after commit", topic)
