"""Funding a bounty: DRAFT -> FUNDING_PENDING -> a PaymentIntent -> OPEN, in three phases.

1. `begin` (one transaction): claim the idempotency key, move the bounty to FUNDING_PENDING and
   record a CHARGE operation (REQUESTED). Committed before any network call.
2. `call_provider` (no transaction open): the customer, the PaymentIntent (`transfer_group`
   "bounty:<id>", idempotency key "charge:<operation id>", confirmed at once when a saved
   payment method was given) and an ephemeral key for the PaymentSheet.
3. `apply_intent` (one transaction): record what the provider said. Succeeded: credit the
   bounty's HELD account (reference "funding:<operation id>", so once) and open the bounty.
   Declined: the bounty goes back to DRAFT with the reason, and the intent is cancelled (a job).
   Waiting for the customer: REQUIRES_ACTION; the webhook (or reconciliation) finishes it.

The webhook job and reconciliation call `apply_intent` with the intent as the provider reports it
now, so a synchronous answer, a webhook, a duplicate and a late, reordered event all converge.
A charge that succeeds after its bounty stopped waiting (cancelled meanwhile) is refunded.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func

from app.db.engine import SessionFactory
from app.db.models import (
    BountyStatus,
    FingerprintKind,
    NotificationType,
    OperationKind,
    OperationStatus,
)
from services import business_events, idempotency
from services.bounties import lifecycle
from services.bounties.access import require_poster
from services.bounties.errors import PaymentFailed
from services.errors import DomainError, InvalidInput
from services.notifications.later import notify_later
from services.payments import fees, held_funds, operations, payment_methods, refunds
from services.payments.customers import customer_for
from services.payments.interface import Payments
from services.payments.operations import Operation
from services.payments.provider import Intent, IntentStatus, ProviderUnavailable
from services.risk import categories
from services.risk import checks as risk_checks
from services.risk.checks import MoneyAction
from services.risk.fingerprints import record_fingerprint
from services.unit_of_work import Publisher, UnitOfWork, unit_of_work
from services.viewer import Viewer

S = BountyStatus
CANCEL_JOB = "payments.cancel_intent"
WAITING = frozenset(
    {
        IntentStatus.REQUIRES_PAYMENT_METHOD,
        IntentStatus.REQUIRES_CONFIRMATION,
        IntentStatus.REQUIRES_ACTION,
        IntentStatus.PROCESSING,
        IntentStatus.REQUIRES_CAPTURE,
    }
)


@dataclass(frozen=True)
class PaymentSheet:
    """What the app's Stripe SDK needs to take the payment (PaymentSheet), and where it stands."""

    bounty_id: str
    operation_id: str
    status: str  # the operation's: REQUESTED, REQUIRES_ACTION, SUCCEEDED, FAILED, CANCELED
    payment_intent_id: str | None
    client_secret: str | None
    customer_id: str | None
    ephemeral_key: str | None
    publishable_key: str
    failure: str | None

    def as_result(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> PaymentSheet:
        return cls(**result)


@dataclass(frozen=True)
class Started:
    operation_id: uuid.UUID
    replay: PaymentSheet | None  # the stored first response to a repeated key


def _request(bounty_id: uuid.UUID, payment_method: str | None) -> dict[str, Any]:
    return {"bountyId": str(bounty_id), "paymentMethodId": payment_method}


async def begin(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    payments: Payments,
    bounty_id: uuid.UUID,
    key: str,
    payment_method: str | None,
) -> Started:
    """Phase 1. A repeated key answers the stored response, or, if the first attempt never got
    as far as storing one, re-drives that attempt's operation."""
    if payment_method is not None and not 3 <= len(payment_method) <= 255:
        raise InvalidInput("not a payment method id", field="input.paymentMethodId")
    first = await idempotency.claim(
        work.session, user_id=viewer.user_id, key=key, operation="publish",
        request=_request(bounty_id, payment_method),
    )  # fmt: skip
    if first is not None:
        if first:
            sheet = PaymentSheet.from_result(first)
            return Started(uuid.UUID(sheet.operation_id), sheet)
        interrupted = await operations.latest_charge(work.session, bounty_id)
        assert interrupted is not None, "a claimed publish always records its charge"
        return Started(interrupted.id, None)
    if payment_method is not None:
        await payment_methods.check_usable(work.session, viewer.user_id, payment_method)
    await categories.check_publish(work, viewer, bounty_id)
    state = await lifecycle.load_state(work.session, viewer, bounty_id)
    require_poster(viewer, state, "publish it")
    await risk_checks.check(work.session, viewer.user_id, MoneyAction.FUND)
    await lifecycle.transition(
        work, state, S.FUNDING_PENDING, actor_id=viewer.user_id, values={"funding_failure": None}
    )
    operation = await operations.record(
        work.session, kind=OperationKind.CHARGE, user_id=viewer.user_id, money=state.reward,
        provider=payments.provider.name, bounty_id=bounty_id, payment_method=payment_method,
    )  # fmt: skip
    return Started(operation.id, None)


@dataclass(frozen=True)
class ProviderAnswer:
    intent: Intent
    customer_id: str
    ephemeral_key: str


async def call_provider(
    session_factory: SessionFactory, payments: Payments, operation: Operation
) -> ProviderAnswer:
    """Phase 2: no transaction is open here. Raises `ProviderUnavailable`."""
    assert operation.bounty_id is not None
    customer_id = await customer_for(session_factory, payments, operation.user_id)
    intent = await payments.provider.create_intent(
        amount=operation.money.amount,
        currency=operation.money.currency,
        customer_id=customer_id,
        payment_method=operation.payment_method,
        transfer_group=f"bounty:{operation.bounty_id}",
        metadata={"operation_id": str(operation.id), "bounty_id": str(operation.bounty_id)},
        idempotency_key=operation.provider_key(),
    )
    ephemeral = await payments.provider.ephemeral_key(customer_id=customer_id)
    return ProviderAnswer(intent, customer_id, ephemeral)


async def apply_intent(
    work: UnitOfWork,
    payments: Payments,
    operation_id: uuid.UUID,
    intent: Intent,
    *,
    answering: bool = False,
) -> Operation:
    """Phase 3, and every later report of the intent (webhook, reconciliation): converge the
    operation, the ledger and the bounty on what the provider says. Idempotent. A failure that
    arrives later than `publishBounty`'s answer (`answering` False) notifies the poster."""
    session = work.session
    operation = await operations.get(session, operation_id, lock=True)
    money = operation.money
    if intent.status is IntentStatus.SUCCEEDED:
        await operations.settle(
            session, operation, OperationStatus.SUCCEEDED, provider_id=intent.id,
            client_secret=intent.client_secret,
            from_statuses=(*operations.OPEN, OperationStatus.FAILED, OperationStatus.CANCELED),
        )  # fmt: skip
        assert operation.bounty_id is not None
        credited = await held_funds.credit_funding(
            session, bounty_id=operation.bounty_id, money=money,
            reference=held_funds.funding_reference(operation.id),
            fee_bps=await fees.platform_fee_bps(session, payments),
        )  # fmt: skip
        if credited and intent.card_fingerprint:
            await record_fingerprint(
                session, operation.user_id, FingerprintKind.CARD, intent.card_fingerprint
            )
        if credited:
            work.after_commit(
                lambda: business_events.payment("charge", "succeeded", money.currency, money.amount)
            )
            await _open_or_refund(work, payments, operation)
    elif intent.status is IntentStatus.CANCELED or intent.failure is not None:
        reason = intent.failure or "the payment was cancelled"
        final = (
            OperationStatus.CANCELED
            if intent.status is IntentStatus.CANCELED
            else (OperationStatus.FAILED)
        )
        moved = await operations.settle(
            session, operation, final, provider_id=intent.id, client_secret=intent.client_secret,
            failure_reason=reason[:500],
        )  # fmt: skip
        if moved:
            status = "canceled" if final is OperationStatus.CANCELED else "failed"
            work.after_commit(
                lambda: business_events.payment("charge", status, money.currency, money.amount)
            )
            if await _back_to_draft(work, operation, reason) and not answering:
                await notify_later(
                    work, [operation.user_id], NotificationType.PAYMENT_FAILED,
                    bounty_id=operation.bounty_id, data={"reason": reason[:500]},
                )  # fmt: skip
            if intent.status is not IntentStatus.CANCELED:
                await work.enqueue(CANCEL_JOB, {"operationId": str(operation.id)})
    elif intent.status in WAITING:
        await operations.settle(
            session, operation, OperationStatus.REQUIRES_ACTION, provider_id=intent.id,
            client_secret=intent.client_secret,
            from_statuses=(OperationStatus.REQUESTED, OperationStatus.REQUIRES_ACTION),
        )  # fmt: skip
    return await operations.get(session, operation_id)


async def _open_or_refund(work: UnitOfWork, payments: Payments, operation: Operation) -> None:
    assert operation.bounty_id is not None
    state = await lifecycle.load_for_system(work.session, operation.bounty_id)
    if state.status is S.FUNDING_PENDING:
        await lifecycle.transition(
            work, state, S.OPEN, actor_id=operation.user_id, values={"published_at": func.now()}
        )
        return
    # Paid after the bounty stopped waiting for it (cancelled while the sheet was open): the
    # money goes back.
    await refunds.begin(
        work, payments, bounty_id=operation.bounty_id, currency=state.reward.currency,
        charge=operation,
    )  # fmt: skip


async def _back_to_draft(work: UnitOfWork, operation: Operation, reason: str) -> bool:
    assert operation.bounty_id is not None
    state = await lifecycle.load_for_system(work.session, operation.bounty_id)
    if state.status is not S.FUNDING_PENDING:
        return False
    await lifecycle.transition(
        work, state, S.DRAFT, actor_id=None, note=reason[:2000],
        values={"funding_failure": reason[:500]},
    )  # fmt: skip
    return True


async def sheet(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    payments: Payments,
    operation: Operation,
    answer: ProviderAnswer | None,
    key: str,
) -> PaymentSheet:
    """The response, stored under the idempotency key so a replay returns it as it was."""
    result = PaymentSheet(
        bounty_id=str(operation.bounty_id),
        operation_id=str(operation.id),
        status=operation.status.value,
        payment_intent_id=operation.provider_id,
        client_secret=operation.client_secret,
        customer_id=answer.customer_id if answer else None,
        ephemeral_key=answer.ephemeral_key if answer else None,
        publishable_key=payments.provider.publishable_key,
        failure=operation.failure_reason,
    )
    first = await idempotency.store_first_result(
        work.session, user_id=viewer.user_id, key=key, result=result.as_result()
    )
    return PaymentSheet.from_result(first)


async def cancel_pending(work: UnitOfWork, bounty_id: uuid.UUID) -> None:
    """The bounty was cancelled while FUNDING_PENDING: cancel its open intent (a job, after
    commit; if it succeeded meanwhile, `apply_intent` refunds it)."""
    charge = await operations.latest_charge(work.session, bounty_id)
    if charge is not None and charge.status in operations.OPEN:
        await work.enqueue(CANCEL_JOB, {"operationId": str(charge.id)})


async def publish(
    session_factory: SessionFactory,
    publisher: Publisher,
    viewer: Viewer,
    *,
    payments: Payments,
    bounty_id: uuid.UUID,
    key: str,
    payment_method: str | None,
) -> PaymentSheet:
    """`publishBounty`: the three phases, each its own transaction; the PaymentSheet answer."""
    kept: DomainError | None = None
    async with unit_of_work(session_factory, publisher) as work:
        try:
            started = await begin(
                work, viewer, payments=payments, bounty_id=bounty_id, key=key,
                payment_method=payment_method,
            )  # fmt: skip
        except DomainError as error:
            if not getattr(error, "keeps_changes", False):
                raise
            kept = error  # e.g. a category review was queued: commit it, then refuse
    if kept is not None:
        raise kept
    if started.replay is not None:
        return started.replay
    async with session_factory() as session:
        operation = await operations.get(session, started.operation_id)
    answer: ProviderAnswer | None = None
    if operation.status in operations.OPEN:
        try:
            answer = await call_provider(session_factory, payments, operation)
        except ProviderUnavailable as error:
            money = operation.money
            business_events.payment("charge", "pending", money.currency, money.amount)
            raise PaymentFailed(
                "the payment provider did not answer; the bounty waits in FUNDING_PENDING: "
                "retry with the same idempotency key"
            ) from error
    async with unit_of_work(session_factory, publisher) as work:
        if answer is not None:
            operation = await apply_intent(
                work, payments, operation.id, answer.intent, answering=True
            )
        return await sheet(
            work, viewer, payments=payments, operation=operation, answer=answer, key=key
        )
