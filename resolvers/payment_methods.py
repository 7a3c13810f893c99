"""Root fields of saved payment methods: list, add (a SetupIntent), make default, remove."""

from __future__ import annotations

import strawberry

from app.security.permissions import IsAuthenticated
from resolvers.bounty_mutations import money_mover
from resolvers.mutations import attempt, mutate, require_viewer
from schema.context import Info
from schema.errors import Result, UserError
from schema.payment_methods import (
    AddPaymentMethodInput,
    AddPaymentMethodResult,
    AddPaymentMethodSuccess,
    PaymentMethod,
    PaymentMethodInput,
    PaymentMethodSetup,
    RemovePaymentMethodResult,
    RemovePaymentMethodSuccess,
    SetDefaultPaymentMethodResult,
    SetDefaultPaymentMethodSuccess,
)
from services.payments import payment_methods
from services.payments.payment_methods import MethodCard
from services.unit_of_work import UnitOfWork


async def _all(info: Info) -> list[PaymentMethod]:
    viewer = require_viewer(info)
    cards = await payment_methods.list_methods(info.context.session_factory, viewer)
    return [PaymentMethod.from_card(card) for card in cards]


@strawberry.type
class PaymentMethodQueries:
    @strawberry.field(
        description="Your saved payment methods, the default first, then newest first.",
        permission_classes=[IsAuthenticated],
    )
    async def payment_methods(self, info: Info) -> list[PaymentMethod]:
        return await _all(info)


@strawberry.type
class PaymentMethodMutations:
    @strawberry.mutation(
        description="Save a card for later (a SetupIntent): present the answer's sheet, or "
        "pass a `paymentMethodId` the SDK made to save it at once.",
        permission_classes=[IsAuthenticated],
        graphql_type=AddPaymentMethodResult,
    )
    async def add_payment_method(
        self, info: Info, input: AddPaymentMethodInput | None = None
    ) -> Result[AddPaymentMethodSuccess]:
        viewer, payments = await money_mover(info)
        given = input or AddPaymentMethodInput()
        context = info.context
        sheet = await attempt(
            payment_methods.add(
                context.session_factory, context.broker, viewer, payments=payments,
                payment_method=given.payment_method_id, make_default=given.make_default,
                key=given.idempotency_key,
            )
        )  # fmt: skip
        if isinstance(sheet, UserError):
            return sheet
        return AddPaymentMethodSuccess(
            setup=PaymentMethodSetup.from_sheet(sheet),
            payment_method=PaymentMethod.from_card(sheet.method) if sheet.method else None,
        )

    @strawberry.mutation(
        description="Make one of your saved methods the default.",
        permission_classes=[IsAuthenticated],
        graphql_type=SetDefaultPaymentMethodResult,
    )
    async def set_default_payment_method(
        self, info: Info, input: PaymentMethodInput
    ) -> Result[SetDefaultPaymentMethodSuccess]:
        viewer = require_viewer(info)

        async def run(work: UnitOfWork) -> MethodCard:
            return await payment_methods.set_default(work, viewer, method_id=str(input.id))

        card = await mutate(info, run)
        if isinstance(card, UserError):
            return card
        return SetDefaultPaymentMethodSuccess(
            payment_method=PaymentMethod.from_card(card), payment_methods=await _all(info)
        )

    @strawberry.mutation(
        description="Forget one of your saved methods (the provider detaches it); if it was "
        "the default, your newest other method becomes the default.",
        permission_classes=[IsAuthenticated],
        graphql_type=RemovePaymentMethodResult,
    )
    async def remove_payment_method(
        self, info: Info, input: PaymentMethodInput
    ) -> Result[RemovePaymentMethodSuccess]:
        viewer = require_viewer(info)

        async def run(work: UnitOfWork) -> str:
            return await payment_methods.remove(work, viewer, method_id=str(input.id))

        removed = await mutate(info, run)
        if isinstance(removed, UserError):
            return removed
        return RemovePaymentMethodSuccess(
            removed_id=strawberry.ID(removed), payment_methods=await _all(info)
        )
