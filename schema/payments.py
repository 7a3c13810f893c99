"""Payment types: what the app's Stripe SDK needs to take a payment, and where a payment stands."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry


@strawberry.enum(description="Where a payment stands.")
class PaymentStatus(Enum):
    REQUESTED = strawberry.enum_value(
        "REQUESTED", description="Recorded; the provider's answer is not in yet."
    )
    REQUIRES_ACTION = strawberry.enum_value(
        "REQUIRES_ACTION",
        description="Waiting for the payer: present the PaymentSheet (or 3-D Secure) with "
        "`clientSecret`; the bounty opens when the payment succeeds.",
    )
    SUCCEEDED = "SUCCEEDED"
    FAILED = strawberry.enum_value(
        "FAILED", description="Declined: the bounty is back in DRAFT; `failure` says why."
    )
    CANCELED = "CANCELED"


@strawberry.type(
    description="Everything Stripe's mobile PaymentSheet needs (cards, Apple Pay, Google Pay): "
    "initialise the SDK with `publishableKey`, then present the sheet with `clientSecret`, "
    "`customerId` and `ephemeralKey`. With a saved `paymentMethodId` the payment was confirmed "
    "at once and `status` says how it went."
)
class PaymentSheet:
    status: PaymentStatus
    payment_intent_id: str | None
    client_secret: str | None
    customer_id: str | None
    ephemeral_key: str | None
    publishable_key: str
    failure: str | None = strawberry.field(description="Why the payment failed, for the payer.")


@strawberry.type(description="Your money on the platform, in one currency (minor units).")
class Wallet:
    currency: str
    available: int = strawberry.field(description="Released rewards you can pay out.")
    pending: int = strawberry.field(description="Payouts requested and not yet paid.")


@strawberry.enum(description="What a money movement was, seen from your side.")
class TransactionType(Enum):
    FUNDED = strawberry.enum_value("FUNDED", description="You paid a bounty's reward.")
    REFUNDED = strawberry.enum_value("REFUNDED", description="A bounty's reward came back.")
    RELEASED = strawberry.enum_value(
        "RELEASED", description="A reward reached your wallet (net of `fee`)."
    )
    PAYOUT = strawberry.enum_value("PAYOUT", description="You paid out of your wallet.")
    PAYOUT_RETURNED = strawberry.enum_value(
        "PAYOUT_RETURNED", description="A failed payout came back to your wallet."
    )


@strawberry.type(description="One money movement on your side of the ledger.")
class Transaction:
    id: strawberry.ID
    type: TransactionType
    amount: int = strawberry.field(description="Minor units; negative when money left you.")
    fee: int | None = strawberry.field(description="The platform's fee taken from a release.")
    currency: str
    bounty_id: strawberry.ID | None
    created_at: datetime
