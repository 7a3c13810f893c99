"""Connect webhooks: `account.updated`, `transfer.created` / `transfer.reversed`, `payout.*`.

Like the other handlers (`webhooks.process`), each asks the provider for the object as it is
now (`prepare`, outside any transaction) and applies that state (`apply`, in the transaction that
claims the event), through the same idempotent functions as the request and reconciliation, so
duplicate and reordered deliveries converge:
- `account.updated`: the payout account's status, `payouts_enabled` and requirements;
- `transfer.created`: the transfer's id on its payout (no money moves);
- `transfer.reversed` (all of it) while the payout is open: the payout failed, its money returns
  to the wallet;
- `payout.paid`: PAYOUT_PENDING -> CLEARING (final); `payout.failed` / `payout.canceled`: the
  transfer is taken back from the connected account (in `prepare`, key
  "payout-reversal:<operation id>") and the money returns to the wallet; other payout events
  (created, updated) record it in transit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from app.db.engine import SessionFactory
from services.payments import connect, operations, payouts
from services.payments.connect_provider import ConnectAccount, Payout, Transfer
from services.payments.interface import Payments
from services.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)


def handles(event_type: str) -> bool:
    return event_type in ("account.updated", "transfer.created", "transfer.reversed") or (
        event_type.startswith("payout.")
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    account: ConnectAccount | None = None
    transfer: Transfer | None = None
    payout: Payout | None = None
    operation_id: uuid.UUID | None = None


def _operation_id(metadata: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str((metadata or {}).get("operation_id")))
    except ValueError:
        return None


async def prepare(
    session_factory: SessionFactory, payments: Payments, event: dict[str, Any]
) -> Prepared | None:
    """The provider's current view of the event's object (network; no transaction open)."""
    event_type, obj = str(event.get("type")), event["data"]["object"]
    object_id = obj.get("id")
    if not handles(event_type) or not isinstance(object_id, str):
        return None
    provider = connect.connect_of(payments)
    try:
        if event_type == "account.updated":
            return Prepared(account=await provider.retrieve_account(object_id))
        if event_type.startswith("transfer."):
            transfer = await provider.retrieve_transfer(object_id)
            return Prepared(transfer=transfer, operation_id=_operation_id(transfer.metadata))
        account_id = event.get("account")
        if not isinstance(account_id, str):
            return None
        payout = await provider.retrieve_payout(account_id=account_id, payout_id=object_id)
    except LookupError:
        return None
    operation_id = _operation_id(payout.metadata)
    if operation_id is None:
        return None
    if payout.status in ("failed", "canceled"):
        async with session_factory() as session:
            operation = await payouts.find(session, operation_id)
        if operation is None:
            return None
        if operation.status in operations.OPEN and operation.source_id is not None:
            await provider.reverse_transfer(
                operation.source_id, idempotency_key=operation.provider_key("reversal")
            )
    return Prepared(payout=payout, operation_id=operation_id)


async def apply(work: UnitOfWork, prepared: Prepared) -> None:
    if prepared.account is not None:
        await connect.apply_account(work.session, prepared.account)
        return
    operation_id = prepared.operation_id
    if operation_id is None or await payouts.find(work.session, operation_id) is None:
        return
    if prepared.payout is not None:
        await payouts.apply_payout(work, operation_id, payout=prepared.payout)
    elif prepared.transfer is not None:
        transfer = prepared.transfer
        if transfer.reversed:
            await payouts.apply_payout(
                work, operation_id, transfer_id=transfer.id,
                refused="the transfer to your payout account was reversed",
            )  # fmt: skip
        else:
            await payouts.apply_payout(work, operation_id, transfer_id=transfer.id)
