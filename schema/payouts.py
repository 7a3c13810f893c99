"""Payout types: the hunter's connected account (Stripe Connect Express) and payouts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry import relay

from schema.context import Info
from schema.errors import (
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    InvalidInputError,
    PaymentFailedError,
    PayoutAccountNotReadyError,
    PayoutBelowMinimumError,
    PayoutsRestrictedError,
)
from schema.payments import Wallet
from schema.users import parse_uuid
from services.payments import payout_answers
from services.payments.payout_answers import PayoutCard


@strawberry.enum(description="Where your payout account's onboarding stands.")
class PayoutAccountStatus(Enum):
    NOT_STARTED = strawberry.enum_value(
        "NOT_STARTED", description="No payout account yet: ask `payoutAccountLink`."
    )
    PENDING = strawberry.enum_value(
        "PENDING", description="Onboarding not finished: open a new `payoutAccountLink`."
    )
    ENABLED = strawberry.enum_value("ENABLED", description="Payouts can be requested.")
    RESTRICTED = strawberry.enum_value(
        "RESTRICTED",
        description="The payment provider disabled payouts until `requirementsDue` are given "
        "(through a new `payoutAccountLink`).",
    )


@strawberry.type(
    description="Where your payouts go: your connected account at the payment provider, kept "
    "current by its `account.updated` events."
)
class PayoutAccount:
    status: PayoutAccountStatus
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str] = strawberry.field(
        description="What the provider still needs from you (its requirement names)."
    )


@strawberry.type(description="Open `url` (in a browser tab) to onboard; it expires soon.")
class PayoutAccountLinkSuccess:
    url: str
    expires_at: datetime
    account: PayoutAccount


@strawberry.enum(description="Where a payout stands.")
class PayoutStatus(Enum):
    REQUESTED = strawberry.enum_value(
        "REQUESTED",
        description="Recorded, the money set aside; the provider has not answered yet (it is "
        "retried with the same keys).",
    )
    IN_TRANSIT = strawberry.enum_value("IN_TRANSIT", description="On its way to your bank.")
    PAID = strawberry.enum_value("PAID", description="Arrived (final).")
    FAILED = strawberry.enum_value(
        "FAILED", description="Refused or returned by the bank: the money is back in your wallet."
    )


@strawberry.type(
    description="A payout from your wallet to your bank account (minor units). `node(id:)` "
    "finds it for its owner only (null for anyone else)."
)
class Payout(relay.Node):
    id: relay.NodeID[str]
    status: PayoutStatus
    amount: int
    currency: str
    failure: str | None = strawberry.field(description="Why it failed, for you.")
    created_at: datetime

    @classmethod
    def from_card(cls, card: PayoutCard) -> Payout:
        return cls(
            id=card.id,
            status=PayoutStatus[card.status],
            amount=card.amount,
            currency=card.currency,
            failure=card.failure,
            created_at=datetime.fromisoformat(card.created_at),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        """The viewer's own payouts, in one statement; null for others' and for anonymous."""
        wanted = [parse_uuid(node_id) for node_id in node_ids]
        viewer = info.context.viewer
        valid = [payout_id for payout_id in wanted if payout_id is not None]
        cards = (
            await payout_answers.owned_cards(info.context.reads, viewer, valid)
            if viewer is not None
            else {}
        )
        return [
            cls.from_card(card)
            if payout_id is not None and (card := cards.get(payout_id))
            else None
            for payout_id in wanted
        ]


@strawberry.input
class RequestPayoutInput:
    amount: int = strawberry.field(description="Minor units (cents), at least the minimum.")
    currency: str = strawberry.field(description="ISO 4217, the wallet's currency.")
    idempotency_key: str = strawberry.field(
        description="Persist it before sending and send it again with every retry: the same key "
        "and input returns the first answer; other input is IDEMPOTENCY_KEY_REUSED."
    )


@strawberry.type(description="The payout, and your wallet right after it.")
class RequestPayoutSuccess:
    payout: Payout
    wallet: Wallet


RequestPayoutResult = Annotated[
    RequestPayoutSuccess
    | InvalidInputError
    | IdempotencyKeyReusedError
    | InsufficientFundsError
    | PayoutBelowMinimumError
    | PayoutAccountNotReadyError
    | PayoutsRestrictedError,
    strawberry.union("RequestPayoutResult"),
]
PayoutAccountLinkResult = Annotated[
    PayoutAccountLinkSuccess | PaymentFailedError, strawberry.union("PayoutAccountLinkResult")
]
