"""Payment types: what the app's Stripe SDK needs to take a payment, and where a payment stands."""

from __future__ import annotations

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
