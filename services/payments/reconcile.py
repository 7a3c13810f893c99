"""Reconciliation: finish what a crash, a timeout or an outage left between phases.

Every open operation that nobody moved for a while is re-driven with its own idempotency key, so
the provider answers with the object it may already have made: a charge whose answer was lost is
recorded (and its bounty opened) with one charge, a refund that was never sent is sent once. A
charge still waiting for the customer is checked against the provider's current state. A payout
that never reached the provider is sent (same keys: one transfer, one payout); one in transit is
checked against the provider (paid, or failed: its money back in the wallet).
"""

from __future__ import annotations

import logging

from app.db.engine import SessionFactory
from app.db.models import OperationKind, OperationStatus
from services.payments import charges, operations, payouts, refunds
from services.payments.interface import Payments
from services.payments.provider import ProviderUnavailable
from services.unit_of_work import Publisher, unit_of_work

logger = logging.getLogger(__name__)
STALE_AFTER_SECONDS = 60.0


async def reconcile(
    session_factory: SessionFactory,
    publisher: Publisher,
    payments: Payments,
    *,
    older_than_seconds: float = STALE_AFTER_SECONDS,
) -> int:
    """Re-drive stale open operations of this provider; how many reached a final state."""
    async with session_factory() as session:
        stale = await operations.stale(session, older_than_seconds=older_than_seconds)
    finished = 0
    for operation in stale:
        if operation.provider != payments.provider.name:
            continue
        try:
            if operation.kind is OperationKind.CHARGE:
                if operation.status is OperationStatus.REQUESTED or operation.provider_id is None:
                    intent = (
                        await charges.call_provider(session_factory, payments, operation)
                    ).intent
                else:
                    intent = await payments.provider.retrieve_intent(operation.provider_id)
                async with unit_of_work(session_factory, publisher) as work:
                    done = await charges.apply_intent(work, payments, operation.id, intent)
                finished += done.status not in operations.OPEN
            elif operation.kind is OperationKind.REFUND:
                status = await refunds.drive(session_factory, publisher, payments, operation.id)
                finished += status not in operations.OPEN
            elif operation.kind is OperationKind.PAYOUT:
                done = await payouts.drive(session_factory, publisher, payments, operation)
                finished += done.status not in operations.OPEN
        except ProviderUnavailable:
            logger.warning("reconciling %s: the provider did not answer", operation.id)
    return finished
