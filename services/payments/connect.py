"""Connected accounts (Stripe Connect Express): where a hunter's payouts go.

What a provider does for payouts (`ConnectProvider`, implemented by `sandbox` and
`stripe_provider`), and the account record: `onboarding_link` makes the Express account on first
use (provider key "connect-account:<user id>", so a retry or a concurrent request makes one) and
answers the hosted onboarding link; `apply_account` records what the provider says about an
account (after a link, and on every `account.updated`, with the account as the provider has it
now, so reordered events converge); `payout_account` reads the viewer's status.

Status: no record is NOT_STARTED; `payouts_enabled` is ENABLED; otherwise RESTRICTED when the
provider disabled the account (a `disabled_reason` after details were submitted, or requirements
past due), else PENDING (onboarding not finished).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import PayoutAccount, User
from app.settings import Settings
from services.errors import AccountClosed
from services.payments.connect_provider import (
    AccountLink,
    ConnectAccount,
    ConnectProvider,
    Payout,
    ProviderRefused,
    Transfer,
)
from services.payments.interface import Payments
from services.payments.provider import PaymentProvider
from services.viewer import Viewer

NOT_STARTED = "NOT_STARTED"
__all__ = ["AccountLink", "ConnectAccount", "ConnectProvider", "Payout", "ProviderRefused",
           "Transfer"]  # fmt: skip


def connect_of(payments: Payments | PaymentProvider) -> ConnectProvider:
    provider = payments.provider if isinstance(payments, Payments) else payments
    assert isinstance(provider, ConnectProvider), f"{provider.name} does not do payouts"
    return provider


@dataclass(frozen=True, slots=True)
class AccountCard:
    """A user's payout account as the API shows it (`status` NOT_STARTED without one)."""

    status: str
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...]
    account_id: str | None = None


NONE = AccountCard(NOT_STARTED, False, False, ())


def _card(row: PayoutAccount | None) -> AccountCard:
    if row is None:
        return NONE
    return AccountCard(
        row.status.value, row.payouts_enabled, row.details_submitted,
        tuple(row.requirements_due), row.account_id,
    )  # fmt: skip


async def account_row(
    session: AsyncSession, user_id: uuid.UUID, provider: str
) -> PayoutAccount | None:
    found: PayoutAccount | None = (
        await session.execute(
            select(PayoutAccount).where(
                col(PayoutAccount.user_id) == user_id, col(PayoutAccount.provider) == provider
            )
        )
    ).scalar_one_or_none()
    return found


async def payout_account(
    session_factory: SessionFactory, viewer: Viewer, *, payments: Payments
) -> AccountCard:
    async with session_factory() as session:
        return _card(await account_row(session, viewer.user_id, payments.provider.name))


async def apply_account(session: AsyncSession, account: ConnectAccount) -> bool:
    """Record the provider's view of `account`; whether we know the account."""
    moved = await session.scalar(
        update(PayoutAccount)
        .where(col(PayoutAccount.account_id) == account.id)
        .values(
            status=account.status,
            payouts_enabled=account.payouts_enabled,
            details_submitted=account.details_submitted,
            requirements_due=list(account.requirements_due),
        )
        .returning(col(PayoutAccount.account_id))
    )
    return moved is not None


async def _ensure_account(
    session_factory: SessionFactory, viewer: Viewer, payments: Payments
) -> str:
    """The user's connected account id, made at the provider on first use (outside any
    transaction; the key makes a repeat or a concurrent first use answer the same account)."""
    name = payments.provider.name
    async with session_factory() as session:
        row = await account_row(session, viewer.user_id, name)
        if row is not None:
            return row.account_id
        email = await session.scalar(select(col(User.email)).where(col(User.id) == viewer.user_id))
    if email is None:  # the account was deleted while its access token still lives
        raise AccountClosed(str(viewer.user_id))
    made = await connect_of(payments).create_account(
        user_id=str(viewer.user_id),
        email=email or "",
        idempotency_key=f"connect-account:{viewer.user_id}",
    )
    async with session_factory() as session, session.begin():
        await session.execute(
            insert(PayoutAccount)
            .values(
                user_id=viewer.user_id,
                provider=name,
                account_id=made.id,
                status=made.status,
                payouts_enabled=made.payouts_enabled,
                details_submitted=made.details_submitted,
                requirements_due=list(made.requirements_due),
            )
            .on_conflict_do_nothing()
        )
    return made.id


@dataclass(frozen=True, slots=True)
class Onboarding:
    link: AccountLink
    account: AccountCard


async def onboarding_link(
    session_factory: SessionFactory, viewer: Viewer, *, payments: Payments, settings: Settings
) -> Onboarding:
    """`payoutAccountLink`: the account (made on first use), a fresh onboarding link, and the
    account's status as the provider has it now. Raises ProviderUnavailable."""
    account_id = await _ensure_account(session_factory, viewer, payments)
    connect = connect_of(payments)
    link = await connect.account_link(
        account_id=account_id,
        refresh_url=settings.payout_onboarding_refresh_url,
        return_url=settings.payout_onboarding_return_url,
    )
    current = await connect.retrieve_account(account_id)
    async with session_factory() as session, session.begin():
        await apply_account(session, current)
        row = await account_row(session, viewer.user_id, payments.provider.name)
    return Onboarding(link, _card(row))
