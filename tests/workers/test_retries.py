"""Retries until the attempt limit, dead letters, and requeueing them through the admin API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import Role
from app.settings import Settings
from services.jobs import enqueue
from tests.conftest import GraphQL
from tests.factories import create_user, token_for
from tests.workers.conftest import (
    StartWorker,
    queue_is_empty,
    queue_rows,
    runs,
    stop,
    until,
    wait_until_serving,
)

pytestmark = pytest.mark.asyncio

DEAD_JOBS = """
query { deadJobs { totalCount edges { node { id entrypoint runs payload error } } } }
"""
REQUEUE = """
mutation($id: ID!) {
  requeueJob(input: {id: $id}) {
    __typename
    ... on RequeueJobSuccess { job { id runs } }
    ... on UserError { code message field }
  }
}
"""


async def job_statuses(session_factory: SessionFactory, job_id: int) -> list[str]:
    """PgQueuer's log of the job's transitions, in order."""
    async with session_factory() as session:
        rows = await session.scalars(
            text("SELECT status::text FROM pgqueuer_log WHERE job_id = :id ORDER BY id"),
            {"id": job_id},
        )
        return list(rows)


async def test_a_job_failing_twice_then_succeeding_ends_done_on_attempt_3(
    start_worker: StartWorker, session_factory: SessionFactory, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    worker = start_worker()
    async with session_factory() as session, session.begin():
        job = await enqueue(session, "testing.flaky", {"log": str(log), "failures": 2})
    assert job is not None

    await until(lambda: queue_is_empty(session_factory))
    assert [(job_id, attempt) for _, job_id, attempt, _ in runs(log)] == [
        (job, 1),
        (job, 2),
        (job, 3),
    ]
    await until(lambda: job_statuses(session_factory, job))
    assert await job_statuses(session_factory, job) == [
        "queued",
        *("picked", "queued") * 2,  # two failed runs, each queued again for a retry
        "picked",
        "successful",
    ]
    assert stop(worker) == 0


async def test_a_job_that_always_fails_ends_dead_and_an_admin_can_requeue_it(
    start_worker: StartWorker,
    session_factory: SessionFactory,
    settings: Settings,
    graphql: GraphQL,
    tmp_path: Path,
) -> None:
    log, fixed = tmp_path / "runs.log", tmp_path / "fixed"
    worker = start_worker()
    await wait_until_serving(session_factory, worker)
    async with session_factory() as session, session.begin():
        job = await enqueue(
            session, "testing.fail_until_fixed", {"log": str(log), "fixed": str(fixed)}
        )
    assert job is not None

    dead = [(job, "testing.fail_until_fixed", "failed", 2)]  # `attempts` counts retries
    await until(lambda: _rows_are(session_factory, dead))
    assert [attempt for _, _, attempt, _ in runs(log)] == [1, 2, 3]  # max_attempts=3

    admin = token_for(settings, await create_user(session_factory, role=Role.ADMIN))
    listed = await graphql(DEAD_JOBS, token=admin)
    assert listed == {
        "data": {
            "deadJobs": {
                "totalCount": 1,
                "edges": [
                    {
                        "node": {
                            "id": str(job),
                            "entrypoint": "testing.fail_until_fixed",
                            "runs": 3,
                            "payload": {"log": str(log), "fixed": str(fixed)},
                            "error": "RuntimeError: not fixed yet",
                        }
                    }
                ],
            }
        }
    }

    fixed.touch()
    requeued = await graphql(REQUEUE, {"id": str(job)}, token=admin)
    assert requeued == {
        "data": {
            "requeueJob": {"__typename": "RequeueJobSuccess", "job": {"id": str(job), "runs": 3}}
        }
    }
    await until(lambda: queue_is_empty(session_factory))
    assert [attempt for _, _, attempt, _ in runs(log)] == [1, 2, 3, 1]  # attempts were reset
    assert (await job_statuses(session_factory, job))[-4:] == [
        "failed",
        "queued",
        "picked",
        "successful",
    ]
    assert await graphql(DEAD_JOBS, token=admin) == {
        "data": {"deadJobs": {"totalCount": 0, "edges": []}}
    }

    again = await graphql(REQUEUE, {"id": str(job)}, token=admin)
    assert again["data"]["requeueJob"] == {
        "__typename": "NotFoundError",
        "code": "NOT_FOUND",
        "message": "no dead job has this id",
        "field": "id",
    }
    assert stop(worker) == 0


async def _rows_are(session_factory: SessionFactory, expected: list[Any]) -> bool:
    return await queue_rows(session_factory) == expected


@pytest.mark.parametrize(
    ("role", "code"),
    [(None, "UNAUTHENTICATED"), (Role.USER, "FORBIDDEN"), (Role.MODERATOR, "FORBIDDEN")],
)
async def test_only_admins_see_or_requeue_dead_jobs(
    session_factory: SessionFactory,
    settings: Settings,
    graphql: GraphQL,
    role: Role | None,
    code: str,
) -> None:
    job = await _dead_job(session_factory)
    token = None
    if role is not None:
        token = token_for(settings, await create_user(session_factory, role=role))

    listed = await graphql(DEAD_JOBS, token=token)
    requeued = await graphql(REQUEUE, {"id": str(job)}, token=token)

    assert listed["data"] is None
    assert [error["extensions"]["code"] for error in listed["errors"]] == [code]
    assert requeued["data"] is None
    assert [error["extensions"]["code"] for error in requeued["errors"]] == [code]
    assert await queue_rows(session_factory) == [(job, "testing.record", "failed", 0)]


async def test_requeue_refuses_ids_that_are_not_dead_jobs(
    session_factory: SessionFactory, settings: Settings, graphql: GraphQL
) -> None:
    admin = token_for(settings, await create_user(session_factory, role=Role.ADMIN))
    async with session_factory() as session, session.begin():
        waiting = await enqueue(session, "testing.record", {"log": "unused"})

    not_dead = await graphql(REQUEUE, {"id": str(waiting)}, token=admin)
    malformed = await graphql(REQUEUE, {"id": "seven"}, token=admin)

    assert not_dead["data"]["requeueJob"]["code"] == "NOT_FOUND"
    assert malformed["data"]["requeueJob"] == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "not a job id",
        "field": "input.id",
    }
    assert await queue_rows(session_factory) == [(waiting, "testing.record", "queued", 0)]


async def _dead_job(session_factory: SessionFactory) -> int:
    """A job marked dead directly, as a worker does after the last failed attempt."""
    async with session_factory() as session, session.begin():
        job = await enqueue(session, "testing.record", {"log": "unused"})
        await session.execute(
            text("UPDATE pgqueuer SET status = 'failed' WHERE id = :id"), {"id": job}
        )
    assert job is not None
    return job
