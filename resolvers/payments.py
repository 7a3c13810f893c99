"""Root fields of money: your wallet and your transaction history."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.security.permissions import IsAuthenticated
from resolvers.mutations import require_viewer
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError
from schema.pagination import Connection
from schema.payments import Transaction, TransactionType, Wallet
from services.errors import InvalidInput
from services.payments import wallets


def _transaction(row: wallets.TransactionRow) -> Transaction:
    return Transaction(
        id=strawberry.ID(relay.to_base64("Transaction", str(row.entry_id))),
        type=TransactionType[row.type.value],
        amount=row.amount,
        fee=row.fee,
        currency=row.currency,
        bounty_id=strawberry.ID(relay.to_base64("Bounty", str(row.bounty_id)))
        if row.bounty_id
        else None,
        created_at=row.created_at,
    )


@strawberry.type
class PaymentQueries:
    @strawberry.field(
        description="Your wallet in one currency: released rewards available to pay out, and "
        "payouts pending.",
        permission_classes=[IsAuthenticated],
    )
    async def wallet(self, info: Info, currency: str = "EUR") -> Wallet:
        viewer = require_viewer(info)
        try:
            card = await wallets.wallet(info.context.session_factory, viewer, currency=currency)
        except InvalidInput as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Wallet(currency=card.currency, available=card.available, pending=card.pending)

    @strawberry.field(
        description="Your money movements, newest first: bounties you funded and had refunded, "
        "rewards released to you (net of the fee), payouts.",
        permission_classes=[IsAuthenticated],
    )
    async def transactions(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        type: TransactionType | None = None,
    ) -> Connection[Transaction]:
        viewer = require_viewer(info)
        kind = wallets.TransactionType(type.name) if type is not None else None
        try:
            page = await wallets.transactions(
                info.context.session_factory, viewer, first=first, after=after, type_=kind
            )
        except InvalidInput as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Connection.from_page(page, _transaction)
