"""After-commit effects of transitions: notification jobs, business counters, recipients."""

from __future__ import annotations

import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import ApplicationStatus, BountyStatus
from app.settings import Settings
from services.bounties.notifications import recipients
from tests.bounty_factories import (
    CANCEL,
    PUBLISH,
    TEST_CARD,
    insert_application,
    insert_bounty,
)
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio


def counted(event: str) -> float:
    return REGISTRY.get_sample_value("bountyexpo_bounties_total", {"event": event}) or 0.0


async def notify_jobs(session_factory: SessionFactory) -> list[dict[str, object]]:
    async with session_factory() as session:
        rows = await session.execute(
            text("SELECT payload FROM pgqueuer WHERE entrypoint = 'bounties.notify' ORDER BY id")
        )
        return [orjson.loads(row[0]) for row in rows]


async def test_a_transition_queues_notifications_and_counts_once_committed(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    token = token_for(settings, poster)
    bounty_id = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    published, cancelled = counted("published"), counted("cancelled")
    variables = {
        "input": {
            "bountyId": global_id("Bounty", bounty_id),
            "idempotencyKey": "a",
            "paymentMethodId": TEST_CARD,
        }
    }
    opened = await graphql(PUBLISH, variables, token=token)
    assert opened["data"]["publishBounty"]["bounty"]["status"] == "OPEN", opened
    assert counted("published") == published + 1
    jobs = await notify_jobs(session_factory)
    assert [(job["previousStatus"], job["status"]) for job in jobs] == [
        ("DRAFT", "FUNDING_PENDING"),
        ("FUNDING_PENDING", "OPEN"),
    ]
    assert all(job["actorId"] == str(poster.id) for job in jobs)
    # A refused transition rolls back: no job, no count.
    refused = await graphql(
        PUBLISH, {"input": {**variables["input"], "idempotencyKey": "b"}}, token=token
    )
    assert refused["data"]["publishBounty"]["code"] == "INVALID_TRANSITION"
    assert len(await notify_jobs(session_factory)) == 2
    assert counted("published") == published + 1
    cancel = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "c"}
    await graphql(CANCEL, {"input": cancel}, token=token)
    assert counted("cancelled") == cancelled + 1


async def test_recipients_are_the_parties_and_applicants_but_never_the_actor(
    session_factory: SessionFactory,
) -> None:
    poster, hunter = await create_user(session_factory), await create_user(session_factory)
    applicant, quitter = await create_user(session_factory), await create_user(session_factory)
    bounty_id = await insert_bounty(
        session_factory, poster, status=BountyStatus.ASSIGNED, hunter=hunter
    )
    await insert_application(
        session_factory, bounty_id, applicant, status=ApplicationStatus.REJECTED
    )
    await insert_application(
        session_factory, bounty_id, quitter, status=ApplicationStatus.WITHDRAWN
    )
    change = {"bountyId": str(bounty_id), "status": "ASSIGNED", "actorId": str(poster.id)}
    async with session_factory() as session:
        assert await recipients(session, change) == {hunter.id, applicant.id}
        submitted = {**change, "status": "SUBMITTED", "actorId": str(hunter.id)}
        assert await recipients(session, submitted) == {poster.id}
