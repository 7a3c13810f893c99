"""Marketplace jobs: deadline expiry (a schedule) and transition notifications."""

from __future__ import annotations

import logging

from services.bounties import delivery
from services.notifications.domain import notify_transition
from services.payments.interface import payments_for
from services.unit_of_work import unit_of_work
from workers.registry import JobRun, Registry, ScheduleRun

logger = logging.getLogger(__name__)

jobs = Registry("bounties")


@jobs.schedule("bounties.expire", "* * * * *")
async def expire(run: ScheduleRun) -> None:
    """Every minute: OPEN bounties past their deadline become EXPIRED and are refunded."""
    total = 0
    while True:
        async with unit_of_work(run.session_factory, run.broker) as work:
            expired = await delivery.expire_due(work, payments=payments_for(run.settings))
        total += expired
        if expired < delivery.EXPIRE_BATCH:
            break
    if total:
        logger.info("expired %d bounties", total)


@jobs.job("bounties.notify", max_attempts=5)
async def notify(run: JobRun) -> None:
    """A transition's notifications for its poster, hunter and applicants (not its actor)."""
    async with unit_of_work(run.session_factory, run.broker) as work:
        created = await notify_transition(work, run.payload, f"job:{run.id}")
    logger.debug(
        "bounty %s -> %s: %d notification(s)",
        run.payload.get("bountyId"),
        run.payload.get("status"),
        created,
    )
