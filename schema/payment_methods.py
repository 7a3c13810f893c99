"""Saved payment methods: what the app lists, and what its sheet needs to save a new one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.errors import InvalidInputError, NotFoundError, PaymentFailedError
from schema.idempotency import idempotency_key_field
from schema.payments import PaymentStatus
from services.payments.payment_methods import MethodCard, SetupSheet


@strawberry.type(
    description="A card you saved (never its number). Pass `id` as `publishBounty`'s "
    "`paymentMethodId` to pay with it."
)
class PaymentMethod:
    id: strawberry.ID = strawberry.field(description="The provider's id (pm_...).")
    brand: str = strawberry.field(description="visa, mastercard, amex, ...")
    last4: str
    exp_month: int
    exp_year: int
    wallet: str | None = strawberry.field(
        description="The wallet the card came from: apple_pay, google_pay, ... (Stripe's "
        "names); null for a card typed in."
    )
    is_default: bool
    created_at: datetime

    @classmethod
    def from_card(cls, card: MethodCard) -> PaymentMethod:
        return cls(
            id=strawberry.ID(card.id), brand=card.brand, last4=card.last4,
            exp_month=card.exp_month, exp_year=card.exp_year, wallet=card.wallet,
            is_default=card.is_default, created_at=card.created_at,
        )  # fmt: skip


@strawberry.type(
    description="Everything Stripe's mobile SDK needs to save a card (PaymentSheet in setup "
    "mode, or CustomerSheet; cards, Apple Pay, Google Pay): initialise the SDK with "
    "`publishableKey` and present the sheet with `clientSecret` (a SetupIntent's), `customerId` "
    "and `ephemeralKey`. The card is listed in `paymentMethods` once it is saved."
)
class PaymentMethodSetup:
    status: PaymentStatus = strawberry.field(
        description="REQUIRES_ACTION: present the sheet; SUCCEEDED: saved (`paymentMethod`); "
        "FAILED: declined (`failure`)."
    )
    setup_intent_id: str
    client_secret: str
    customer_id: str
    ephemeral_key: str
    publishable_key: str
    failure: str | None

    @classmethod
    def from_sheet(cls, sheet: SetupSheet) -> PaymentMethodSetup:
        return cls(
            status=PaymentStatus[sheet.status], setup_intent_id=sheet.setup_intent_id,
            client_secret=sheet.client_secret, customer_id=sheet.customer_id,
            ephemeral_key=sheet.ephemeral_key, publishable_key=sheet.publishable_key,
            failure=sheet.failure,
        )  # fmt: skip


@strawberry.input
class AddPaymentMethodInput:
    payment_method_id: str | None = strawberry.field(
        default=None,
        description="A payment method the SDK made (pm_...; in test mode Stripe's test ids such "
        "as pm_card_visa) to save at once; without one, present the answer's sheet.",
    )
    make_default: bool = strawberry.field(
        default=False, description="Make it your default (your first method always is)."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input
class PaymentMethodInput:
    id: strawberry.ID = strawberry.field(description="A saved method's id (pm_...).")


@strawberry.type
class AddPaymentMethodSuccess:
    setup: PaymentMethodSetup
    payment_method: PaymentMethod | None = strawberry.field(
        description="The saved method when it was saved at once (a `paymentMethodId` given)."
    )


@strawberry.type
class SetDefaultPaymentMethodSuccess:
    payment_method: PaymentMethod
    payment_methods: list[PaymentMethod] = strawberry.field(description="All yours, as now.")


@strawberry.type
class RemovePaymentMethodSuccess:
    removed_id: strawberry.ID
    payment_methods: list[PaymentMethod] = strawberry.field(description="All yours, as now.")


AddPaymentMethodResult = Annotated[
    AddPaymentMethodSuccess | InvalidInputError | PaymentFailedError,
    strawberry.union("AddPaymentMethodResult"),
]
SetDefaultPaymentMethodResult = Annotated[
    SetDefaultPaymentMethodSuccess | NotFoundError | InvalidInputError,
    strawberry.union("SetDefaultPaymentMethodResult"),
]
RemovePaymentMethodResult = Annotated[
    RemovePaymentMethodSuccess | NotFoundError | InvalidInputError,
    strawberry.union("RemovePaymentMethodResult"),
]
