"""Running the payments jobs a test's requests queued, as a worker would (handlers with a JobRun),
and the sandbox provider the app uses."""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, User
from app.settings import Settings
from services.payments import ledger
from services.payments.interface import payments_for
from services.payments.sandbox import SandboxPaymentProvider
from tests.bounty_factories import insert_bounty
from tests.factories import create_user
from workers import payment_methods as method_jobs
from workers import payments as payment_jobs
from workers.registry import JobRun


def sandbox(settings: Settings) -> SandboxPaymentProvider:
    provider = payments_for(settings).provider
    assert isinstance(provider, SandboxPaymentProvider)
    return provider


async def run_payment_jobs(session_factory: SessionFactory, settings: Settings) -> list[str]:
    """Take every queued `payments.*` job and run it (again until none is left); their names."""
    ran: list[str] = []
    while True:
        async with session_factory() as session, session.begin():
            rows = (
                await session.execute(
                    text(
                        "DELETE FROM pgqueuer WHERE id IN (SELECT id FROM pgqueuer "
                        "WHERE entrypoint LIKE 'payments.%' ORDER BY id FOR UPDATE SKIP LOCKED) "
                        "RETURNING id, entrypoint, payload"
                    )
                )
            ).all()
        if not rows:
            return ran
        for job_id, entrypoint, payload in sorted(rows):
            spec = {**payment_jobs.jobs.jobs, **method_jobs.jobs.jobs}[entrypoint]
            run = JobRun(
                id=job_id, entrypoint=entrypoint, attempt=1, payload=orjson.loads(payload),
                session_factory=session_factory, settings=settings,
            )  # fmt: skip
            await spec.handler(run)
            ran.append(entrypoint)


async def assigned_bounty(
    session_factory: SessionFactory, status: BountyStatus, *, reward: int
) -> tuple[User, User, uuid.UUID]:
    """A poster, a hunter and a bounty of theirs in `status` (EUR, `reward` minor units)."""
    poster, hunter = await create_user(session_factory), await create_user(session_factory)
    bounty_id = await insert_bounty(
        session_factory, poster, status=status, hunter=hunter, reward_amount=reward,
        reward_currency="EUR",
    )  # fmt: skip
    return poster, hunter, bounty_id


async def bounty_balances(
    session_factory: SessionFactory, hunter: User, bounty_id: uuid.UUID
) -> dict[str, int]:
    """The EUR balances a release or refund moves: held, the hunter's wallet, fees, refunds."""
    async with session_factory() as session:
        return {
            "held": await ledger.balance(session, ledger.held(bounty_id, "EUR")),
            "wallet": await ledger.balance(session, ledger.wallet(hunter.id, "EUR")),
            "fees": await ledger.balance(session, ledger.fees("EUR")),
            "refunds": await ledger.balance(session, ledger.refunds("EUR")),
        }
