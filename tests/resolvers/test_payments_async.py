"""What happens to a charge after `publishBounty` answered: a decline arriving by webhook
returns the bounty to DRAFT and notifies the poster (in-app and push); a charge the payer never
finishes is cancelled after FUNDING_TIMEOUT_MINUTES, safely against a success racing it; and the
fee recorded at funding is the `payments.platform_fee_bps` system setting when an admin set it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import select, text, update
from sqlmodel import col

from app.broker import InProcessBroker
from app.db.engine import SessionFactory
from app.db.models import (
    Bounty,
    BountyStatus,
    Notification,
    NotificationType,
    PaymentOperation,
    Role,
    User,
)
from app.settings import Settings
from services import system_settings
from services.audit import RequestMeta
from services.payments import signatures
from services.payments.funding_timeouts import expire_waiting
from services.payments.interface import payments_for
from services.payments.provider import IntentStatus
from services.payments.sandbox import event
from services.unit_of_work import unit_of_work
from tests.bounty_factories import PUBLISH, TEST_CARD, bounty_snapshot, insert_bounty
from tests.conftest import TEST_WEBHOOK_SECRET, GraphQL
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.notification_helpers import deliveries, register_device, viewer_of
from tests.payment_helpers import run_payment_jobs, sandbox
from workers import notifications as notification_jobs
from workers import payment_methods as method_jobs
from workers.registry import JobRun, ScheduleRun

pytestmark = pytest.mark.asyncio
S = BountyStatus


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


async def _publish(
    graphql: GraphQL, settings: Settings, poster: User, bounty_id: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    variables = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "pub", **extra}
    body = await graphql(PUBLISH, {"input": variables}, token=token_for(settings, poster))
    result: dict[str, Any] = body["data"]["publishBounty"]
    return result


async def _deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    raw = orjson.dumps(body)
    header = signatures.sign(raw, TEST_WEBHOOK_SECRET)
    return await client.post("/webhooks/stripe", content=raw, headers={"stripe-signature": header})


async def _notification_jobs(session_factory: SessionFactory) -> list[dict[str, Any]]:
    """Take the queued `notifications.create` jobs, run them; their payloads."""
    async with session_factory() as session, session.begin():
        rows = (
            await session.execute(
                text(
                    "DELETE FROM pgqueuer WHERE entrypoint = 'notifications.create' "
                    "RETURNING id, payload"
                )
            )
        ).all()
    payloads = []
    for job_id, payload in sorted(rows):
        run = JobRun(
            id=job_id, entrypoint="notifications.create", attempt=1,
            payload=orjson.loads(payload), session_factory=session_factory,
        )  # fmt: skip
        await notification_jobs.create(run)
        payloads.append(run.payload)
    return payloads


async def _funding_failure(session_factory: SessionFactory, bounty_id: uuid.UUID) -> str | None:
    async with session_factory() as session:
        return await session.scalar(
            select(col(Bounty.funding_failure)).where(col(Bounty.id) == bounty_id)
        )


async def _draft(session_factory: SessionFactory) -> tuple[User, uuid.UUID]:
    poster = await create_user(session_factory)
    return poster, await insert_bounty(session_factory, poster, status=S.DRAFT, reward_amount=2500)


async def test_a_decline_by_webhook_returns_to_draft_and_notifies_the_poster(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    await register_device(session_factory, poster, "poster")
    result = await _publish(graphql, settings, poster, bounty_id)
    assert result["payment"]["status"] == "REQUIRES_ACTION"
    failed = sandbox(settings).complete(
        result["payment"]["paymentIntentId"], "pm_card_chargeDeclined"
    )
    assert failed["type"] == "payment_intent.payment_failed"
    for _ in range(3):  # duplicates: one effect
        assert (await _deliver(client, failed)).status_code == 200
    await run_payment_jobs(session_factory, settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.DRAFT
    assert snapshot["payments"] == []
    assert await _funding_failure(session_factory, bounty_id) == "Your card was declined."
    [payload] = await _notification_jobs(session_factory)
    assert payload["type"] == "PAYMENT_FAILED"
    assert payload["userIds"] == [str(poster.id)]
    assert payload["data"] == {"reason": "Your card was declined.", "bountyId": str(bounty_id)}
    async with session_factory() as session:
        [row] = (await session.scalars(select(Notification))).all()
    assert (row.user_id, row.type, row.title) == (
        poster.id,
        NotificationType.PAYMENT_FAILED,
        "Payment failed",
    )
    assert "did not go through" in row.body
    assert [status for status, _, _ in await deliveries(session_factory)] == ["PENDING"]


async def test_a_decline_answered_at_once_does_not_notify(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    result = await _publish(
        graphql, settings, poster, bounty_id, paymentMethodId="pm_card_chargeDeclined"
    )
    assert (result["bounty"]["status"], result["payment"]["status"]) == ("DRAFT", "FAILED")
    assert await _notification_jobs(session_factory) == []


async def _age(session_factory: SessionFactory, bounty_id: uuid.UUID, minutes: int) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(PaymentOperation)
            .where(col(PaymentOperation.bounty_id) == bounty_id)
            .values(created_at=text(f"now() - interval '{minutes} minutes'"))
        )


async def test_an_unfinished_charge_expires_back_to_draft_once(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    fresh_poster, fresh_id = await _draft(session_factory)
    await _publish(graphql, settings, poster, bounty_id)
    await _publish(graphql, settings, fresh_poster, fresh_id)
    await _age(session_factory, bounty_id, 61)
    payments = payments_for(settings)
    assert await expire_waiting(session_factory, client, payments, timeout_minutes=60) == 1  # type: ignore[arg-type]
    assert await expire_waiting(session_factory, client, payments, timeout_minutes=60) == 0  # type: ignore[arg-type]
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.DRAFT
    reason = "the payment was not completed within 60 minutes"
    assert await _funding_failure(session_factory, bounty_id) == reason
    [intent] = sandbox(settings).intents_for(str(bounty_id))
    assert intent.status is IntentStatus.CANCELED
    assert (await bounty_snapshot(session_factory, fresh_id))["status"] is S.FUNDING_PENDING
    [payload] = await _notification_jobs(session_factory)
    assert (payload["type"], payload["data"]["reason"]) == ("PAYMENT_FAILED", reason)
    # A success webhook arriving late finds the intent cancelled: nothing moves.
    late = event("payment_intent.succeeded", replace(intent, status=IntentStatus.SUCCEEDED))
    assert (await _deliver(client, late)).status_code == 200
    await run_payment_jobs(session_factory, settings)
    assert (await bounty_snapshot(session_factory, bounty_id))["payments"] == []


async def test_expiry_racing_a_success_opens_the_bounty_with_one_funding(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    result = await _publish(graphql, settings, poster, bounty_id)
    succeeded = sandbox(settings).complete(result["payment"]["paymentIntentId"], TEST_CARD)
    await _age(session_factory, bounty_id, 90)
    # The payer finished just before the schedule ran; its webhook is still on the way.
    payments = payments_for(settings)
    assert await expire_waiting(session_factory, client, payments, timeout_minutes=60) == 1  # type: ignore[arg-type]
    assert (await _deliver(client, succeeded)).status_code == 200
    await run_payment_jobs(session_factory, settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.OPEN
    assert snapshot["payments"] == [("FUNDING", 2500)]
    assert await _notification_jobs(session_factory) == []


async def _fee_of(session_factory: SessionFactory, bounty_id: uuid.UUID) -> int | None:
    async with session_factory() as session:
        return await session.scalar(
            select(col(Bounty.platform_fee_bps)).where(col(Bounty.id) == bounty_id)
        )


async def test_the_fee_recorded_at_funding_is_the_system_setting_once_set(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, unset = await _draft(session_factory)
    await _publish(graphql, settings, poster, unset, paymentMethodId=TEST_CARD)
    assert await _fee_of(session_factory, unset) == settings.platform_fee_bps
    admin = await create_user(session_factory, role=Role.ADMIN)
    async with unit_of_work(session_factory, InProcessBroker()) as work:
        await system_settings.update_setting(
            work, viewer_of(admin), key=system_settings.PLATFORM_FEE_BPS, value=750,
            expected_version=0, meta=RequestMeta(),
        )  # fmt: skip
    later = await insert_bounty(session_factory, poster, status=S.DRAFT, reward_amount=2500)
    await _publish(graphql, settings, poster, later, paymentMethodId=TEST_CARD, idempotencyKey="2")
    assert await _fee_of(session_factory, later) == 750
    assert await _fee_of(session_factory, unset) == settings.platform_fee_bps  # as funded


async def test_the_schedule_uses_funding_timeout_minutes(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    await _publish(graphql, settings, poster, bounty_id)
    await _age(session_factory, bounty_id, 6)
    run = ScheduleRun(name="payments.expire_funding", session_factory=session_factory)
    await method_jobs.expire_funding(replace(run, settings=settings))  # 60 minutes: too early
    assert (await bounty_snapshot(session_factory, bounty_id))["status"] is S.FUNDING_PENDING
    short = settings.model_copy(update={"funding_timeout_minutes": 5})
    await method_jobs.expire_funding(replace(run, settings=short))
    assert (await bounty_snapshot(session_factory, bounty_id))["status"] is S.DRAFT
    reason = "the payment was not completed within 5 minutes"
    assert await _funding_failure(session_factory, bounty_id) == reason
