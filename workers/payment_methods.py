"""Payments jobs of saved methods and funding timeouts (the `payments` queue, beside
`workers/payments.py`): detaching a removed method at the provider, and the schedule that
cancels charges the payer never finished."""

from __future__ import annotations

import logging

from services.payments import funding_timeouts, payment_methods
from services.payments.interface import payments_for
from workers.registry import JobRun, Registry, ScheduleRun

logger = logging.getLogger(__name__)

jobs = Registry("payments")


@jobs.job(payment_methods.DETACH_JOB, max_attempts=8)
async def detach_method(run: JobRun) -> None:
    """A removed payment method is detached from the customer at the provider (idempotent)."""
    await payment_methods.detach(
        payments_for(run.settings), run.payload["provider"], run.payload["paymentMethodId"]
    )


@jobs.schedule("payments.expire_funding", "* * * * *")
async def expire_funding(run: ScheduleRun) -> None:
    """Every minute: cancel charges waiting for the payer longer than FUNDING_TIMEOUT_MINUTES;
    their bounties go back to DRAFT."""
    ended = await funding_timeouts.expire_waiting(
        run.session_factory, run.broker, payments_for(run.settings),
        timeout_minutes=run.settings.funding_timeout_minutes,
    )  # fmt: skip
    if ended:
        logger.info("expired %d unfinished charge(s)", ended)
