"""The answer of `requestPayout`: the payout and the wallet, stored under the idempotency key;
and `history`, the viewer's payouts (the `payouts` connection).

Stored once the provider answered (the operation left REQUESTED), so a repeat with the same key
and input returns it as it was; before that a repeat re-drives the same operation (`payouts`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import IdempotencyKey, OperationKind, OperationStatus, PaymentOperation
from services.errors import InvalidInput
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.payments import ledger
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

STATUS = {
    OperationStatus.REQUESTED: "REQUESTED",
    OperationStatus.REQUIRES_ACTION: "IN_TRANSIT",
    OperationStatus.SUCCEEDED: "PAID",
    OperationStatus.FAILED: "FAILED",
    OperationStatus.CANCELED: "FAILED",
}


@dataclass(frozen=True, slots=True)
class PayoutCard:
    id: str  # the operation's id
    status: str  # REQUESTED | IN_TRANSIT | PAID | FAILED
    amount: int
    currency: str
    failure: str | None
    created_at: str  # ISO 8601


@dataclass(frozen=True, slots=True)
class PayoutResponse:
    payout: PayoutCard
    available: int
    pending: int

    def as_result(self) -> dict[str, Any]:
        return {
            "payout": {
                "id": self.payout.id, "status": self.payout.status, "amount": self.payout.amount,
                "currency": self.payout.currency, "failure": self.payout.failure,
                "createdAt": self.payout.created_at,
            },
            "available": self.available,
            "pending": self.pending,
        }  # fmt: skip

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> PayoutResponse:
        p = result["payout"]
        card = PayoutCard(
            p["id"], p["status"], p["amount"], p["currency"], p["failure"], p["createdAt"]
        )
        return cls(card, result["available"], result["pending"])


async def response(
    work: UnitOfWork, viewer: Viewer, *, operation_id: uuid.UUID, key: str | None
) -> PayoutResponse:
    """The answer, stored under the key (once the provider answered) so a repeat returns it."""
    session = work.session
    row = (
        await session.execute(
            select(
                col(PaymentOperation.status), col(PaymentOperation.amount),
                col(PaymentOperation.currency), col(PaymentOperation.failure_reason),
                col(PaymentOperation.created_at),
            ).where(col(PaymentOperation.id) == operation_id)
        )
    ).one()  # fmt: skip
    status, amount, currency, failure, created = row
    balances = await ledger.balances(
        session,
        [ledger.wallet(viewer.user_id, currency), ledger.payout_pending(viewer.user_id, currency)],
    )
    card = PayoutCard(str(operation_id), STATUS[status], amount, currency, failure, _iso(created))
    result = PayoutResponse(
        card,
        balances[ledger.wallet(viewer.user_id, currency)],
        balances[ledger.payout_pending(viewer.user_id, currency)],
    )
    if key is None or status is OperationStatus.REQUESTED:
        return result  # no answer yet: a repeat re-drives
    stored = await session.scalar(
        update(IdempotencyKey)
        .where(
            col(IdempotencyKey.user_id) == viewer.user_id,
            col(IdempotencyKey.key) == key,
            ~col(IdempotencyKey.result).has_key("payout"),  # type: ignore[attr-defined]
        )
        .values(result=result.as_result())
        .returning(col(IdempotencyKey.result))
    )
    if stored is not None:
        return result
    first: dict[str, Any] | None = await session.scalar(
        select(col(IdempotencyKey.result)).where(
            col(IdempotencyKey.user_id) == viewer.user_id, col(IdempotencyKey.key) == key
        )
    )
    assert first is not None
    return PayoutResponse.from_result(first)


async def owned_cards(
    session_factory: SessionFactory, viewer: Viewer, ids: list[uuid.UUID]
) -> dict[uuid.UUID, PayoutCard]:
    """Those of `ids` that are the viewer's payouts (`node(id:)`), in one statement; another
    user's payout is left out, as an unknown id is."""
    if not ids:
        return {}
    p = PaymentOperation
    query = select(
        col(p.id), col(p.status), col(p.amount), col(p.currency), col(p.failure_reason),
        col(p.created_at),
    ).where(
        col(p.id).in_(ids), col(p.user_id) == viewer.user_id, col(p.kind) == OperationKind.PAYOUT
    )  # fmt: skip
    async with session_factory() as session:
        rows = (await session.execute(query)).all()
    return {
        id_: PayoutCard(str(id_), STATUS[status], amount, currency, failure, _iso(at))
        for id_, status, amount, currency, failure, at in rows
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()


async def history(
    session_factory: SessionFactory, viewer: Viewer, *, first: int | None, after: str | None
) -> Page[PayoutCard]:
    """The viewer's payouts, newest first: one statement a page (keyset on created_at, id)."""
    size = page_size(first)
    p = PaymentOperation
    query = select(
        col(p.id), col(p.status), col(p.amount), col(p.currency), col(p.failure_reason),
        col(p.created_at),
    ).where(col(p.user_id) == viewer.user_id, col(p.kind) == OperationKind.PAYOUT)  # fmt: skip
    if after is not None:
        key = decode_cursor(after)
        try:
            at, last = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        except (IndexError, TypeError, ValueError) as error:
            raise InvalidInput("not a cursor this API issued", field="after") from error
        query = query.where(tuple_(col(p.created_at), col(p.id)) < tuple_(at, last))
    query = query.order_by(col(p.created_at).desc(), col(p.id).desc()).limit(size + 1)
    async with session_factory() as session:
        rows = (await session.execute(query)).all()
    cards = [
        PayoutCard(str(id_), STATUS[status], amount, currency, failure, _iso(at))
        for id_, status, amount, currency, failure, at in rows
    ]
    return Page.from_rows(
        cards, size, lambda card: encode_cursor([card.created_at, card.id]), after=after, total=None
    )
