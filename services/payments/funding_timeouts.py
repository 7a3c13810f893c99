"""Charges the customer never finished: cancelled after `FUNDING_TIMEOUT_MINUTES`.

A PaymentIntent left waiting for the payer (the sheet never completed, 3-D Secure abandoned:
our operation in REQUIRES_ACTION) for longer than the setting is cancelled at the provider
(outside any transaction, key "charge-expire:<operation id>") and its answer applied through
`charges.apply_intent`, whose compare-and-set on the operation makes it safe against a success
webhook racing it: if the payment succeeded meanwhile the provider refuses to cancel and says
so, and the bounty opens instead; if the cancel won, a late success webhook finds the intent
cancelled. The bounty returns to DRAFT with the reason and the poster is notified
(PAYMENT_FAILED). Idempotent: run it as often as you like (`payments.expire_funding`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import OperationKind, OperationStatus, PaymentOperation
from services.payments import charges, operations
from services.payments.interface import Payments
from services.payments.provider import IntentStatus, ProviderUnavailable
from services.unit_of_work import Publisher, unit_of_work

logger = logging.getLogger(__name__)
BATCH = 100


async def expire_waiting(
    session_factory: SessionFactory,
    publisher: Publisher,
    payments: Payments,
    *,
    timeout_minutes: int,
    limit: int = BATCH,
) -> int:
    """Cancel this provider's charges waiting longer than `timeout_minutes`; how many ended."""
    async with session_factory() as session:
        ids = list(
            await session.scalars(
                select(col(PaymentOperation.id))
                .where(
                    col(PaymentOperation.kind) == OperationKind.CHARGE,
                    col(PaymentOperation.status) == OperationStatus.REQUIRES_ACTION,
                    col(PaymentOperation.provider) == payments.provider.name,
                    col(PaymentOperation.provider_id).is_not(None),
                    col(PaymentOperation.created_at)
                    < func.now() - timedelta(minutes=timeout_minutes),
                )
                .order_by(col(PaymentOperation.created_at))
                .limit(limit)
            )
        )
    reason = f"the payment was not completed within {timeout_minutes} minutes"
    ended = 0
    for operation_id in ids:
        async with session_factory() as session:
            operation = await operations.get(session, operation_id)
        if operation.status is not OperationStatus.REQUIRES_ACTION or not operation.provider_id:
            continue  # a webhook finished it meanwhile
        try:
            intent = await payments.provider.cancel_intent(
                operation.provider_id, idempotency_key=operation.provider_key("expire")
            )
        except ProviderUnavailable:
            logger.warning("expiring charge %s: the provider did not answer", operation_id)
            continue
        if intent.status is IntentStatus.CANCELED:
            intent = replace(intent, failure=reason)
        async with unit_of_work(session_factory, publisher) as work:
            done = await charges.apply_intent(work, payments, operation_id, intent)
        ended += done.status not in operations.OPEN
    return ended
