"""An expiry run by a worker process reaches a `bountyUpdated` subscriber on a gateway process:
workers publish through the same broker (Redis) as the gateways."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from app.db.engine import SessionFactory
from app.db.models import BountyStatus
from app.db.models.base import utcnow
from app.settings import Settings
from services import jobs
from tests.bounty_factories import insert_bounty
from tests.factories import create_user, global_id, token_for
from tests.gateway_processes import gateway_process, next_for, socket_to, start
from tests.workers.conftest import StartWorker, wait_until_serving

pytestmark = pytest.mark.asyncio


async def test_an_expiry_run_by_a_worker_process_reaches_a_gateway_subscriber(
    database_url: str,
    redis_url: str,
    session_factory: SessionFactory,
    settings: Settings,
    start_worker: StartWorker,
    tmp_path: Path,
) -> None:
    poster = await create_user(session_factory)
    bounty_id = await insert_bounty(
        session_factory, poster, status=BountyStatus.OPEN, deadline=utcnow() - timedelta(hours=1)
    )
    query = "subscription ($id: ID!) { bountyUpdated(id: $id) { status previousStatus } }"
    worker = start_worker(REDIS_URL=redis_url)
    await wait_until_serving(session_factory, worker)
    with gateway_process(database_url, tmp_path / "gw.log", REDIS_URL=redis_url) as gateway:
        async with socket_to(gateway, token_for(settings, poster)) as ws:
            await start(ws, "b", query, {"id": global_id("Bounty", bounty_id)})
            await asyncio.sleep(0.5)  # let the subscribe reach Redis (the protocol has no ack)
            async with session_factory() as session, session.begin():
                await jobs.enqueue(session, "testing.expire", {})
            update = await next_for(ws, "b", within=30)
    assert update["payload"]["data"] == {
        "bountyUpdated": {"status": "EXPIRED", "previousStatus": "OPEN"}
    }
