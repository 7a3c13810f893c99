"""One transaction per mutation; events leave only after commit."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from sqlalchemy import func, select, text

from app.broker import InProcessBroker
from app.db.engine import SessionFactory
from app.db.models import User
from services.unit_of_work import Event, unit_of_work
from workers import realtime as realtime_jobs
from workers.registry import JobRun

pytestmark = pytest.mark.asyncio


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, Event]] = []

    async def publish(self, topic: str, event: Event) -> None:
        self.published.append((topic, event))


class FailingPublisher:
    async def publish(self, topic: str, event: Event) -> None:
        raise ConnectionError("broker down")


def new_user(email: str) -> User:
    return User(email=email, password_hash="x", display_name="Unit")


async def count_users(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_commit_keeps_rows_then_publishes(session_factory: SessionFactory) -> None:
    publisher = RecordingPublisher()
    async with unit_of_work(session_factory, publisher) as work:
        work.session.add(new_user("kept@example.test"))
        work.publish("users", {"event": "created"})
        assert publisher.published == []  # nothing leaves before commit
    assert publisher.published == [("users", {"event": "created"})]
    assert await count_users(session_factory) == 1


async def test_rollback_drops_rows_and_events(session_factory: SessionFactory) -> None:
    publisher = RecordingPublisher()

    async def mutation_that_fails_late() -> None:
        async with unit_of_work(session_factory, publisher) as work:
            work.session.add(new_user("dropped@example.test"))
            await work.session.flush()
            work.publish("users", {"event": "created"})
            raise RuntimeError("business rule failed")

    with pytest.raises(RuntimeError, match="business rule failed"):
        await mutation_that_fails_late()
    assert publisher.published == []
    assert await count_users(session_factory) == 0


async def test_failed_publish_does_not_undo_a_commit(session_factory: SessionFactory) -> None:
    async with unit_of_work(session_factory, FailingPublisher()) as work:
        work.session.add(new_user("committed@example.test"))
        work.publish("users", {"event": "created"})
    assert await count_users(session_factory) == 1


async def test_a_failed_publish_is_queued_and_a_worker_publishes_it(
    session_factory: SessionFactory,
) -> None:
    async with unit_of_work(session_factory, FailingPublisher()) as work:
        work.session.add(new_user("queued@example.test"))
        work.publish("bounty:42", {"status": "OPEN"})
    async with session_factory() as session:
        rows = (await session.execute(text("SELECT id, entrypoint, payload FROM pgqueuer"))).all()
    [(job_id, entrypoint, payload)] = rows
    assert entrypoint == "realtime.publish"
    assert orjson.loads(payload) == {"topic": "bounty:42", "event": {"status": "OPEN"}}
    broker = InProcessBroker()
    async with broker.subscribe("bounty:42") as events:
        run = JobRun(
            id=job_id,
            entrypoint=entrypoint,
            attempt=1,
            payload=orjson.loads(payload),
            session_factory=session_factory,
            broker=broker,
        )
        await realtime_jobs.publish(run)
        event = await asyncio.wait_for(anext(events), 5)
    assert {key: value for key, value in event.items() if key != "publishedAt"} == {
        "status": "OPEN"
    }
