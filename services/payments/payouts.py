"""Paying a hunter's wallet out to their bank: WALLET -> PAYOUT_PENDING -> the provider, in phases.

1. `begin` (one transaction): claim the idempotency key; refuse (typed errors, nothing written)
   when payouts are restricted by risk, the amount is below PAYOUT_MINIMUM_MINOR, the user has
   no connected account with payouts enabled, or the wallet holds less than asked (the wallet's
   ledger row is locked first, so of concurrent requests for the whole balance one wins and the
   others see what is left); then record a PAYOUT operation and post WALLET -> PAYOUT_PENDING
   ("payout:<operation id>"). Committed before any network call.
2. `call_provider` (no transaction open): a Transfer of the amount to the connected account
   (key "payout-transfer:<operation id>", `transfer_group` "payout:<operation id>") and a Payout
   from it to the bank (key "payout:<operation id>", on the connected account). A refusal of the
   payout after the transfer reverses the transfer ("payout-reversal:<operation id>").
3. `apply_payout` (one transaction), and every later report (webhooks, reconciliation): paid ->
   PAYOUT_PENDING -> CLEARING ("payout-paid:<id>"), final; failed or canceled -> the money back
   in the WALLET ("payout-failed:<id>", a PAYOUT_RETURNED line in the history); pending or in
   transit -> IN_TRANSIT. Compare-and-set from the open statuses: whichever final answer lands
   first wins and duplicates change nothing. A payout Stripe reports failed after it was paid is
   logged for staff, not re-credited (paid is final here).

The response (payout and wallet) is stored under the idempotency key once the provider answered,
so a repeat returns it as it was; a repeat before that re-drives the same operation with the same
provider keys.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, text, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    NotificationType,
    OperationKind,
    OperationStatus,
    PaymentOperation,
    PayoutAccountStatus,
    PostingKind,
)
from app.settings import Settings
from services import business_events, idempotency
from services.errors import DomainError, InvalidInput
from services.notifications.later import notify_later
from services.payments import ledger, operations
from services.payments.connect import Payout, ProviderRefused, account_row, connect_of
from services.payments.interface import Payments
from services.payments.money import Money
from services.payments.operations import Operation
from services.payments.payout_answers import PayoutResponse, response
from services.payments.provider import ProviderUnavailable
from services.risk import checks as risk_checks
from services.risk.checks import MoneyAction
from services.unit_of_work import Publisher, UnitOfWork, unit_of_work
from services.viewer import Viewer

logger = logging.getLogger(__name__)


class InsufficientFunds(DomainError):
    code = "INSUFFICIENT_FUNDS"


class PayoutBelowMinimum(DomainError):
    code = "PAYOUT_BELOW_MINIMUM"


class PayoutAccountNotReady(DomainError):
    code = "PAYOUT_ACCOUNT_NOT_READY"


# Operation status -> the API's payout status.
@dataclass(frozen=True, slots=True)
class Started:
    operation_id: uuid.UUID
    replay: PayoutResponse | None


async def find(session: AsyncSession, operation_id: uuid.UUID) -> Operation | None:
    """A payout operation by id (None for an unknown id or another kind)."""
    try:
        found = await operations.get(session, operation_id)
    except NoResultFound:
        return None
    return found if found.kind is OperationKind.PAYOUT else None


def reference(operation_id: uuid.UUID) -> str:
    return f"payout:{operation_id}"


def _money(amount: int, currency: str) -> Money:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput("an ISO 4217 currency code", field="input.currency")
    if amount <= 0:
        raise InvalidInput("a positive amount in minor units", field="input.amount")
    return Money(amount, code)


async def begin(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    payments: Payments,
    money: Money,
    key: str,
    minimum: int,
) -> Started:
    """Phase 1 (see the module). A repeated key answers the stored response, or re-drives the
    first attempt's operation when it has none yet."""
    session = work.session
    first = await idempotency.claim(
        session, user_id=viewer.user_id, key=key, operation="requestPayout",
        request={"amount": money.amount, "currency": money.currency},
    )  # fmt: skip
    if first is not None:
        if "payout" in first:
            return Started(uuid.UUID(first["payout"]["id"]), PayoutResponse.from_result(first))
        return Started(uuid.UUID(first["operationId"]), None)
    await risk_checks.check(session, viewer.user_id, MoneyAction.PAYOUT)
    if money.amount < minimum:
        raise PayoutBelowMinimum(
            f"the smallest payout is {minimum} minor units", field="input.amount"
        )
    account = await account_row(session, viewer.user_id, payments.provider.name)
    if account is None or account.status is not PayoutAccountStatus.ENABLED:
        state = "not set up" if account is None else account.status.value.lower()
        raise PayoutAccountNotReady(
            f"your payout account is {state}: finish onboarding with payoutAccountLink",
            field=None,
        )
    wallet = ledger.wallet(viewer.user_id, money.currency)
    available = await session.scalar(
        text(
            "SELECT balance FROM ledger_accounts WHERE kind = 'WALLET' AND owner_id = :user "
            "AND currency = :currency FOR UPDATE"
        ),
        {"user": viewer.user_id, "currency": money.currency},
    )
    if (available or 0) < money.amount:
        raise InsufficientFunds(
            f"your wallet holds {available or 0} {money.currency} minor units", field="input.amount"
        )
    operation = await operations.record(
        session, kind=OperationKind.PAYOUT, user_id=viewer.user_id, money=money,
        provider=payments.provider.name,
    )  # fmt: skip
    await ledger.post(
        session,
        kind=PostingKind.PAYOUT,
        reference=reference(operation.id),
        legs=ledger.transfer(wallet, ledger.payout_pending(viewer.user_id, money.currency), money),
    )
    await idempotency.store_result(
        session, user_id=viewer.user_id, key=key, result={"operationId": str(operation.id)}
    )
    return Started(operation.id, None)


@dataclass(frozen=True, slots=True)
class Answer:
    transfer_id: str | None
    payout: Payout | None
    refused: str | None = None  # why the provider said no (the money goes back)


async def call_provider(
    session_factory: SessionFactory, payments: Payments, operation: Operation
) -> Answer:
    """Phase 2: no transaction is open here. Raises ProviderUnavailable."""
    connect = connect_of(payments)
    async with session_factory() as session:
        account = await account_row(session, operation.user_id, operation.provider)
    if account is None:
        return Answer(None, None, "no payout account")
    money = operation.money
    metadata = {"operation_id": str(operation.id), "user_id": str(operation.user_id)}
    try:
        transfer = await connect.create_transfer(
            amount=money.amount, currency=money.currency, destination=account.account_id,
            transfer_group=reference(operation.id), metadata=metadata,
            idempotency_key=operation.provider_key("transfer"),
        )  # fmt: skip
    except ProviderRefused as refusal:
        return Answer(None, None, str(refusal) or "the provider refused the transfer")
    try:
        payout = await connect.create_payout(
            account_id=account.account_id, amount=money.amount, currency=money.currency,
            metadata=metadata, idempotency_key=operation.provider_key(),
        )  # fmt: skip
    except ProviderRefused as refusal:
        await connect.reverse_transfer(
            transfer.id, idempotency_key=operation.provider_key("reversal")
        )
        return Answer(transfer.id, None, str(refusal) or "the provider refused the payout")
    return Answer(transfer.id, payout)


async def _record_ids(
    work: UnitOfWork, operation: Operation, transfer_id: str | None, payout_id: str | None
) -> None:
    values: dict[str, Any] = {}
    if transfer_id is not None and operation.source_id is None:
        values["source_id"] = transfer_id
    if payout_id is not None and operation.provider_id is None:
        values["provider_id"] = payout_id
    if values:
        await work.session.execute(
            update(PaymentOperation)
            .where(col(PaymentOperation.id) == operation.id)
            .values(**values)
        )


async def apply_payout(
    work: UnitOfWork,
    operation_id: uuid.UUID,
    *,
    transfer_id: str | None = None,
    payout: Payout | None = None,
    refused: str | None = None,
) -> Operation:
    """Phase 3, and every later report of the payout: converge on what the provider says."""
    session = work.session
    operation = await operations.get(session, operation_id, lock=True)
    await _record_ids(work, operation, transfer_id, payout.id if payout else None)
    money, user = operation.money, operation.user_id
    pending = ledger.payout_pending(user, money.currency)
    failure = refused or (payout.failure if payout else None)
    if payout is not None and payout.status == "paid":
        if await operations.settle(session, operation, OperationStatus.SUCCEEDED):
            await ledger.post(
                session, kind=PostingKind.PAYOUT_PAID, reference=f"payout-paid:{operation.id}",
                legs=ledger.transfer(pending, ledger.clearing(money.currency), money),
            )  # fmt: skip
            _count(work, "succeeded", money)
            await _notify(work, operation, NotificationType.PAYOUT_PAID)
    elif refused is not None or (payout is not None and payout.status in ("failed", "canceled")):
        reason = (failure or f"the payout was {payout.status if payout else 'refused'}")[:500]
        if await operations.settle(
            session, operation, OperationStatus.FAILED, failure_reason=reason
        ):
            await ledger.post(
                session, kind=PostingKind.PAYOUT_FAILED,
                reference=f"payout-failed:{operation.id}",
                legs=ledger.transfer(pending, ledger.wallet(user, money.currency), money),
            )  # fmt: skip
            _count(work, "failed", money)
            await _notify(work, operation, NotificationType.PAYOUT_FAILED)
        elif operation.status is OperationStatus.SUCCEEDED:
            logger.error(
                "payout %s was paid and is now reported %s: staff must recover it",
                operation.id, payout.status if payout else "refused",
            )  # fmt: skip
    elif payout is not None:  # pending, in transit
        moved = await operations.settle(
            session, operation, OperationStatus.REQUIRES_ACTION,
            from_statuses=(OperationStatus.REQUESTED,),
        )  # fmt: skip
        if moved:
            _count(work, "pending", money)
        elif operation.status is OperationStatus.REQUIRES_ACTION:
            # Still in transit: to the back of reconciliation's queue (it takes the 100 least
            # recently touched), so every payout in transit gets asked about in turn.
            await session.execute(
                update(PaymentOperation)
                .where(col(PaymentOperation.id) == operation.id)
                .values(updated_at=func.now())
            )
    return await operations.get(session, operation_id)


async def _notify(work: UnitOfWork, operation: Operation, type_: NotificationType) -> None:
    """PAYOUT_PAID / PAYOUT_FAILED for the hunter ("Your payout for “45.00 EUR” ..."), with the
    payout's id for the app's deep link."""
    await notify_later(
        work, [operation.user_id], type_, subject=_shown(operation.money),
        data={"payoutId": str(operation.id)},
    )  # fmt: skip


def _shown(money: Money) -> str:
    """`45.00 EUR`: what a notification calls the payout (two-decimal currencies)."""
    return f"{money.amount // 100}.{money.amount % 100:02d} {money.currency}"


def _count(work: UnitOfWork, status: str, money: Money) -> None:
    work.after_commit(
        lambda: business_events.payment("payout", status, money.currency, money.amount)
    )


async def drive(
    session_factory: SessionFactory, publisher: Publisher, payments: Payments, operation: Operation
) -> Operation:
    """Phases 2 and 3 for an open operation (the request, a repeat, reconciliation)."""
    if operation.provider_id is None:
        answer = await call_provider(session_factory, payments, operation)
        async with unit_of_work(session_factory, publisher) as work:
            return await apply_payout(
                work, operation.id, transfer_id=answer.transfer_id, payout=answer.payout,
                refused=answer.refused,
            )  # fmt: skip
    async with session_factory() as session:
        account = await account_row(session, operation.user_id, operation.provider)
    assert account is not None, "a payout made at the provider has its account"
    current = await connect_of(payments).retrieve_payout(
        account_id=account.account_id, payout_id=operation.provider_id
    )
    return await settle_reported(session_factory, publisher, payments, operation, current)


async def settle_reported(
    session_factory: SessionFactory,
    publisher: Publisher,
    payments: Payments,
    operation: Operation,
    current: Payout,
) -> Operation:
    """Apply the payout as the provider reports it now; a failed one first takes its transfer
    back from the connected account (outside any transaction), so the wallet's money is the
    platform's again."""
    if current.status in ("failed", "canceled") and operation.status in operations.OPEN:
        transfer_id = operation.source_id
        if transfer_id is not None:
            await connect_of(payments).reverse_transfer(
                transfer_id, idempotency_key=operation.provider_key("reversal")
            )
    async with unit_of_work(session_factory, publisher) as work:
        return await apply_payout(work, operation.id, payout=current)


async def request(
    session_factory: SessionFactory,
    publisher: Publisher,
    viewer: Viewer,
    *,
    payments: Payments,
    settings: Settings,
    amount: int,
    currency: str,
    key: str,
) -> PayoutResponse:
    """`requestPayout`: the three phases, each its own transaction."""
    money = _money(amount, currency)
    async with unit_of_work(session_factory, publisher) as work:
        started = await begin(
            work, viewer, payments=payments, money=money, key=key,
            minimum=settings.payout_minimum_minor,
        )  # fmt: skip
    if started.replay is not None:
        return started.replay
    async with session_factory() as session:
        operation = await operations.get(session, started.operation_id)
    if operation.status is OperationStatus.REQUESTED:
        try:
            operation = await drive(session_factory, publisher, payments, operation)
        except ProviderUnavailable:
            business_events.payment("payout", "pending", money.currency, money.amount)
            logger.warning("payout %s: the provider did not answer; it waits", operation.id)
    async with unit_of_work(session_factory, publisher) as work:
        return await response(work, viewer, operation_id=operation.id, key=key)
