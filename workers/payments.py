"""Payments jobs: provider calls that must not run inside a request's transaction, webhook
events, and the reconciliation schedule. Each is idempotent (keys derived from our ids)."""

from __future__ import annotations

import logging
import uuid

from services.payments import charges, refunds, webhooks
from services.payments.interface import payments_for
from services.payments.operations import OPEN, get
from services.payments.reconcile import reconcile as reconcile_operations
from services.unit_of_work import unit_of_work
from workers.registry import JobRun, Registry, ScheduleRun

logger = logging.getLogger(__name__)

jobs = Registry("payments")


@jobs.job(webhooks.WEBHOOK_JOB, max_attempts=8)
async def webhook(run: JobRun) -> None:
    """A stored provider event, applied once."""
    await webhooks.process(
        run.session_factory, run.broker, payments_for(run.settings), run.payload["eventId"]
    )


@jobs.job(refunds.REFUND_JOB, max_attempts=8)
async def refund(run: JobRun) -> None:
    """Send a recorded refund to the provider (key "refund:<operation id>") and record it."""
    await refunds.drive(
        run.session_factory, run.broker, payments_for(run.settings),
        uuid.UUID(run.payload["operationId"]),
    )  # fmt: skip


@jobs.job(charges.CANCEL_JOB, max_attempts=8)
async def cancel_intent(run: JobRun) -> None:
    """Cancel a charge's PaymentIntent (its bounty was cancelled, or the card was declined); if
    it succeeded meanwhile, the charge is recorded and refunded."""
    payments = payments_for(run.settings)
    operation_id = uuid.UUID(run.payload["operationId"])
    async with run.session_factory() as session:
        operation = await get(session, operation_id)
    if operation.provider_id is None:
        if operation.status in OPEN:  # never reached the provider: reconciliation creates it
            logger.info("charge %s has no intent yet; reconciliation will settle it", operation_id)
        return
    intent = await payments.provider.cancel_intent(
        operation.provider_id, idempotency_key=operation.provider_key("cancel")
    )
    async with unit_of_work(run.session_factory, run.broker) as work:
        await charges.apply_intent(work, payments, operation_id, intent)


@jobs.schedule("payments.reconcile", "* * * * *")
async def reconcile(run: ScheduleRun) -> None:
    """Every minute: re-drive operations stuck between phases."""
    finished = await reconcile_operations(
        run.session_factory, run.broker, payments_for(run.settings)
    )
    if finished:
        logger.info("reconciliation finished %d payment operation(s)", finished)
