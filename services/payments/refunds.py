"""Refunding a bounty's held funds to its poster, in phases.

`begin` runs in the transaction that cancels or expires the bounty (or resolves its dispute for
the poster): HELD -> REFUNDS in the ledger, a REFUND operation (REQUESTED) against the charge
that funded it, and a `payments.refund` job, all committed together. The job (`drive`) calls the
provider's refund with the key "refund:<operation id>" outside any transaction and records the
answer: succeeded moves REFUNDS -> CLEARING once ("refund-settled:<operation id>"). A crash
anywhere leaves a REQUESTED operation that the job's retry or reconciliation re-drives with the
same key; the `charge.refunded` webhook converges on the same postings.
"""

from __future__ import annotations

import logging
import uuid

from app.db.engine import SessionFactory
from app.db.models import OperationKind, OperationStatus
from services import business_events
from services.payments import held_funds, operations
from services.payments.interface import Payments
from services.payments.money import Money
from services.payments.operations import Operation
from services.payments.provider import Refund
from services.unit_of_work import Publisher, UnitOfWork, unit_of_work

logger = logging.getLogger(__name__)
REFUND_JOB = "payments.refund"


class NoCharge(RuntimeError):
    """Held funds without the charge that brought them in: the ledger and the provider disagree."""


async def begin(
    work: UnitOfWork,
    payments: Payments,
    *,
    bounty_id: uuid.UUID,
    currency: str,
    charge: Operation | None = None,
    amount: Money | None = None,
) -> Money:
    """Queue the provider refund of a bounty's held funds and move them to REFUNDS; the amount.

    Without `charge`: everything the bounty holds, against its charge not yet refunded (a
    cancellation, an expiry, a dispute resolved for the poster). With `charge`: just that
    charge's amount (a payment that arrived after the bounty stopped waiting for it). With
    `amount`: that part of the held funds (a dispute split between hunter and poster)."""
    session = work.session
    if charge is None:
        charge = await operations.unrefunded_charge(session, bounty_id)
        if charge is None:
            raise NoCharge(f"bounty {bounty_id} holds funds no recorded charge brought in")
        moved = amount or await held_funds.held_amount(session, bounty_id, currency)
    else:
        moved = charge.money
    if not await held_funds.start_refund(
        session, bounty_id=bounty_id, money=moved, reference=f"refund:{charge.id}"
    ):
        return moved  # this charge's refund was started before
    refund = await operations.record(
        session, kind=OperationKind.REFUND, user_id=charge.user_id, money=moved,
        provider=charge.provider, bounty_id=bounty_id, source_id=charge.provider_id,
    )  # fmt: skip
    await work.enqueue(REFUND_JOB, {"operationId": str(refund.id)})
    return moved


async def drive(
    session_factory: SessionFactory,
    publisher: Publisher,
    payments: Payments,
    operation_id: uuid.UUID,
) -> OperationStatus:
    """Call the provider for a REQUESTED refund and record its answer (a job; idempotent)."""
    async with session_factory() as session:
        operation = await operations.get(session, operation_id)
    if operation.status not in operations.OPEN:
        return operation.status
    assert operation.source_id is not None, "a refund names the charge it returns"
    answer = await payments.provider.refund(
        intent_id=operation.source_id,
        amount=operation.money.amount,
        idempotency_key=operation.provider_key(),
    )
    async with unit_of_work(session_factory, publisher) as work:
        return await apply_refund(work, operation_id, answer)


async def apply_refund(
    work: UnitOfWork, operation_id: uuid.UUID, answer: Refund
) -> OperationStatus:
    session = work.session
    operation = await operations.get(session, operation_id, lock=True)
    money = operation.money
    if answer.status == "succeeded":
        await operations.settle(
            session, operation, OperationStatus.SUCCEEDED, provider_id=answer.id
        )
        settled = await held_funds.settle_refund(
            session, bounty_id=operation.bounty_id, money=money,
            reference=f"refund-settled:{operation.id}",
        )  # fmt: skip
        if settled:
            work.after_commit(
                lambda: business_events.payment("refund", "succeeded", money.currency, money.amount)
            )
        return OperationStatus.SUCCEEDED
    if answer.status in ("failed", "canceled"):
        if await operations.settle(
            session, operation, OperationStatus.FAILED, provider_id=answer.id,
            failure_reason=f"the provider's refund {answer.status}",
        ):  # fmt: skip
            logger.error(
                "refund %s of bounty %s %s: the money waits in REFUNDS for staff",
                operation.id, operation.bounty_id, answer.status,
            )  # fmt: skip
            work.after_commit(
                lambda: business_events.payment("refund", "failed", money.currency, money.amount)
            )
        return OperationStatus.FAILED
    await operations.settle(
        session, operation, OperationStatus.REQUIRES_ACTION, provider_id=answer.id,
        from_statuses=(OperationStatus.REQUESTED,),
    )  # fmt: skip
    return OperationStatus.REQUIRES_ACTION
