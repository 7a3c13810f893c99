"""Jobs commit or roll back with the change that caused them; events wait for the commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text

from app.db.engine import SessionFactory
from app.db.models import User
from services.jobs import queue_stats
from services.unit_of_work import Event, unit_of_work

pytestmark = pytest.mark.asyncio


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Event]] = []

    async def publish(self, topic: str, event: Event) -> None:
        self.events.append((topic, event))


class Boom(Exception):
    pass


async def jobs_in_queue(session_factory: SessionFactory) -> list[tuple[str, Any, str]]:
    async with session_factory() as session:
        rows = await session.execute(
            text("SELECT entrypoint, payload, status::text FROM pgqueuer ORDER BY id")
        )
        return [(row[0], orjson.loads(row[1]), row[2]) for row in rows]


async def user_count(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


def new_user() -> User:
    return User(email="ada@example.test", password_hash="x", display_name="Ada")


async def test_a_committed_change_leaves_exactly_its_job_and_then_publishes(
    session_factory: SessionFactory,
) -> None:
    recorder = Recorder()
    async with unit_of_work(session_factory, recorder) as work:
        work.session.add(new_user())
        await work.session.flush()
        job_id = await work.enqueue("system.noop", {"user": "ada"})
        work.publish("users", {"added": "ada"})
        assert recorder.events == []  # nothing leaves before the commit

    assert isinstance(job_id, int)
    assert await jobs_in_queue(session_factory) == [("system.noop", {"user": "ada"}, "queued")]
    assert await user_count(session_factory) == 1
    assert recorder.events == [("users", {"added": "ada"})]


async def test_a_change_that_fails_after_enqueueing_leaves_no_job_and_publishes_nothing(
    session_factory: SessionFactory,
) -> None:
    recorder = Recorder()

    async def mutation() -> None:
        async with unit_of_work(session_factory, recorder) as work:
            work.session.add(new_user())
            await work.session.flush()
            await work.enqueue("system.noop", {"user": "ada"})
            work.publish("users", {"added": "ada"})
            raise Boom

    with pytest.raises(Boom):
        await mutation()

    assert await jobs_in_queue(session_factory) == []
    assert await user_count(session_factory) == 0
    assert recorder.events == []


async def test_a_job_enqueued_before_any_other_statement_still_rolls_back(
    session_factory: SessionFactory,
) -> None:
    # SQLAlchemy sends BEGIN lazily; a job written first must not be autocommitted.
    async def mutation() -> None:
        async with unit_of_work(session_factory, Recorder()) as work:
            await work.enqueue("system.noop")
            raise Boom

    with pytest.raises(Boom):
        await mutation()

    assert await jobs_in_queue(session_factory) == []


async def test_a_duplicate_dedupe_key_is_skipped_without_losing_the_change(
    session_factory: SessionFactory,
) -> None:
    async with unit_of_work(session_factory, Recorder()) as work:
        first = await work.enqueue("system.noop", {"n": 1}, dedupe_key="welcome:ada")
        second = await work.enqueue("system.noop", {"n": 2}, dedupe_key="welcome:ada")
        work.session.add(new_user())

    assert first is not None
    assert second is None
    assert await jobs_in_queue(session_factory) == [("system.noop", {"n": 1}, "queued")]
    assert await user_count(session_factory) == 1


async def test_queue_stats_count_jobs_by_state_and_age_only_due_ones(
    session_factory: SessionFactory,
) -> None:
    async with unit_of_work(session_factory, Recorder()) as work:
        await work.enqueue("system.noop")
        await work.enqueue("system.noop")
        await work.enqueue("system.later", delay=timedelta(hours=1))
        await work.session.execute(
            text(
                "UPDATE pgqueuer SET created = now() - interval '90 seconds',"
                " execute_after = now() - interval '90 seconds' WHERE entrypoint = 'system.noop'"
            )
        )

    stats = {(stat.entrypoint, stat.status): stat for stat in await queue_stats(session_factory)}

    assert {key: stat.jobs for key, stat in stats.items()} == {
        ("system.later", "queued"): 1,
        ("system.noop", "queued"): 2,
    }
    assert stats["system.later", "queued"].oldest_age_seconds == 0  # not due yet
    assert 90 <= stats["system.noop", "queued"].oldest_age_seconds < 120
