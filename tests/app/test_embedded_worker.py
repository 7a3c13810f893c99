"""In development the gateway runs a worker inside its own process; elsewhere it does not."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from app.db.engine import SessionFactory
from app.main import create_app
from app.settings import Environment, Settings
from services.jobs import enqueue
from services.workers import worker_heartbeats
from tests.conftest import make_settings
from tests.workers.conftest import runs, until

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("environment", "embedded"),
    [(Environment.DEVELOPMENT, True), (Environment.TEST, False)],
)
async def test_only_development_embeds_a_worker_by_default(
    environment: Environment, embedded: bool
) -> None:
    settings = Settings(_env_file=None, environment=environment)
    assert settings.embedded_worker_enabled is embedded
    assert Settings(
        _env_file=None, environment=environment, worker_embedded=True
    ).embedded_worker_enabled


async def test_production_never_embeds_by_default() -> None:
    settings = Settings(
        _env_file=None,
        environment=Environment.PRODUCTION,
        jwt_secret="s" * 40,
        stripe_secret_key="sk_live_x",
        stripe_webhook_secret="whsec_x",
        stripe_publishable_key="pk_test_x",
        smtp_host="smtp.example.test",
        database_url="postgresql://db/bountyexpo",
    )
    assert settings.embedded_worker_enabled is False


async def test_worker_settings_read_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_QUEUES", "system, payments ,")
    monkeypatch.setenv("WORKER_MODULES", "tests.workers.entrypoints")
    settings = Settings(_env_file=None)
    assert settings.worker_queues == ("system", "payments")
    assert settings.worker_modules == ("tests.workers.entrypoints",)


async def schedules(session_factory: SessionFactory) -> list[str]:
    async with session_factory() as session:
        return list(await session.scalars(text("SELECT entrypoint FROM pgqueuer_schedules")))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_embedded_worker_runs_jobs_schedules_and_reports_in_the_gateway_process(
    database_url: str, session_factory: SessionFactory, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    settings = make_settings(
        database_url=database_url,
        worker_embedded=True,
        worker_modules=("tests.workers.entrypoints",),
        worker_heartbeat_interval_seconds=0.1,
    )
    processed = sample("bountyexpo_jobs_processed_total", entrypoint="testing.record")
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        async with session_factory() as session, session.begin():
            job = await enqueue(session, "testing.record", {"log": str(log)})
            later = {"log": str(log)}
            await enqueue(session, "testing.record", later, delay=timedelta(hours=1))
        await until(lambda: runs(log))
        assert runs(log) == [("run", job, 1, os.getpid())]
        assert [w.pid for w in await worker_heartbeats(session_factory)] == [os.getpid()]

        depth = {"entrypoint": "testing.record", "status": "queued"}
        await until(lambda: sample("bountyexpo_jobs_queue_depth_jobs", **depth) == 1)
        assert sample("bountyexpo_jobs_oldest_age_seconds", entrypoint="testing.record") == 0
        assert (
            sample("bountyexpo_jobs_processed_total", entrypoint="testing.record") == processed + 1
        )

        async def all_registered() -> bool:
            return len(await schedules(session_factory)) == 9

        await until(all_registered)
        assert sorted(await schedules(session_factory)) == [
            "analytics.rollup_daily",
            "analytics.rollup_hourly",
            "bounties.expire",
            "notifications.receipts",
            "payments.expire_funding",
            "payments.reconcile",
            "risk.reassess_changed",
            "risk.reassess_nightly",
            "system.heartbeat",
        ]

    assert await worker_heartbeats(session_factory) == []  # a clean stop removes its row


async def test_a_job_span_links_back_to_the_trace_that_enqueued_it(
    database_url: str, session_factory: SessionFactory, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    settings = make_settings(
        database_url=database_url,
        worker_embedded=True,
        worker_modules=("tests.workers.entrypoints",),
    )
    app = create_app(settings, database_url=database_url)
    monitoring = app.state.monitoring
    async with app.router.lifespan_context(app):
        with monitoring.tracer.start_as_current_span("request") as request_span:
            async with session_factory() as session, session.begin():
                job = await enqueue(session, "testing.record", {"log": str(log)})
        await until(lambda: runs(log))

        def job_spans() -> list[dict[str, object]]:
            spans = monitoring.tracing.buffer.spans()
            return [span for span in spans if span["name"] == "job testing.record"]

        await until(job_spans)
    [span] = job_spans()
    request_trace = format(request_span.get_span_context().trace_id, "032x")
    assert span["links"] == [request_trace]
    assert span["traceId"] != request_trace  # a trace of its own, linked rather than nested
    assert span["kind"] == "CONSUMER"
    assert span["attributes"] == {
        "bountyexpo.job.id": job,
        "bountyexpo.job.entrypoint": "testing.record",
        "bountyexpo.job.attempt": 1,
    }
