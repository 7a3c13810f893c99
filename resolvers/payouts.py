"""Root fields of payouts: the viewer's payout account, its onboarding link, and payout requests."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from app.security.permissions import IsAuthenticated
from resolvers.bounty_mutations import money_mover
from resolvers.mutations import attempt, require_viewer
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError, Result
from schema.pagination import Connection
from schema.payments import Wallet
from schema.payouts import (
    Payout,
    PayoutAccount,
    PayoutAccountLinkResult,
    PayoutAccountLinkSuccess,
    PayoutAccountStatus,
    RequestPayoutInput,
    RequestPayoutResult,
    RequestPayoutSuccess,
)
from services.bounties.errors import PaymentFailed
from services.errors import InvalidInput
from services.payments import connect, payout_answers, payouts
from services.payments.interface import payments_for
from services.payments.payout_answers import PayoutCard, PayoutResponse
from services.payments.provider import ProviderUnavailable


def _account(card: connect.AccountCard) -> PayoutAccount:
    return PayoutAccount(
        status=PayoutAccountStatus[card.status],
        payouts_enabled=card.payouts_enabled,
        details_submitted=card.details_submitted,
        requirements_due=list(card.requirements_due),
    )


def _payout(card: PayoutCard) -> Payout:
    return Payout.from_card(card)


def _success(answer: PayoutResponse) -> RequestPayoutSuccess:
    card = answer.payout
    return RequestPayoutSuccess(
        payout=_payout(card),
        wallet=Wallet(currency=card.currency, available=answer.available, pending=answer.pending),
    )


@strawberry.type
class PayoutQueries:
    @strawberry.field(
        description="Your payout account: NOT_STARTED until the first `payoutAccountLink`, then "
        "as the payment provider last reported it.",
        permission_classes=[IsAuthenticated],
    )
    async def payout_account(self, info: Info) -> PayoutAccount:
        viewer = require_viewer(info)
        payments = payments_for(info.context.settings)
        card = await connect.payout_account(info.context.reads, viewer, payments=payments)
        return _account(card)

    @strawberry.field(
        description="Your payouts, newest first, each with where it stands (IN_TRANSIT, PAID, "
        "FAILED: the money back in your wallet).",
        permission_classes=[IsAuthenticated],
    )
    async def payouts(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Payout]:
        viewer = require_viewer(info)
        try:
            page = await payout_answers.history(
                info.context.reads, viewer, first=first, after=after
            )
        except InvalidInput as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Connection.from_page(page, _payout)


@strawberry.type
class PayoutMutations:
    @strawberry.mutation(
        description="A link to the payment provider's hosted onboarding (Stripe Connect Express) "
        "for your payout account, made on first use. Open it in a browser; ask again when it "
        "expired or when `payoutAccount.status` is PENDING or RESTRICTED.",
        permission_classes=[IsAuthenticated],
        graphql_type=PayoutAccountLinkResult,
    )
    async def payout_account_link(self, info: Info) -> Result[PayoutAccountLinkSuccess]:
        viewer, payments = await money_mover(info)
        context = info.context

        async def run() -> PayoutAccountLinkSuccess:
            try:
                made = await connect.onboarding_link(
                    context.session_factory, viewer, payments=payments, settings=context.settings
                )
            except ProviderUnavailable as error:
                raise PaymentFailed("the payment provider did not answer: try again") from error
            return PayoutAccountLinkSuccess(
                url=made.link.url,
                expires_at=datetime.fromtimestamp(made.link.expires_at, UTC),
                account=_account(made.account),
            )

        return await attempt(run())

    @strawberry.mutation(
        description="Pay out of your wallet to your bank (minor units, at least "
        "PAYOUT_MINIMUM_MINOR). Needs an ENABLED payout account. A money mutation: persist "
        "`idempotencyKey` before sending and repeat it on every retry.",
        permission_classes=[IsAuthenticated],
        graphql_type=RequestPayoutResult,
    )
    async def request_payout(
        self, info: Info, input: RequestPayoutInput
    ) -> Result[RequestPayoutSuccess]:
        viewer, payments = await money_mover(info)
        context = info.context

        async def run() -> RequestPayoutSuccess:
            answer = await payouts.request(
                context.session_factory, context.broker, viewer, payments=payments,
                settings=context.settings, amount=input.amount, currency=input.currency,
                key=input.idempotency_key,
            )  # fmt: skip
            return _success(answer)

        return await attempt(run())
