"""What a payment provider does for payouts (Stripe Connect), whichever it is.

Implemented by `sandbox` and `stripe_provider`; used by `connect` (accounts) and `payouts`. Every
call that makes something carries an idempotency key derived from our ids; calls happen outside
any open database transaction; `ProviderUnavailable` (provider.py) means "no answer, retry with
the same key", `ProviderRefused` a definite no.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from app.db.models import PayoutAccountStatus


class ProviderRefused(RuntimeError):
    """A definite refusal (the account cannot receive transfers, no funds on it, ...): nothing
    was made; retrying with the same key gets the same answer."""


@dataclass(frozen=True, slots=True)
class ConnectAccount:
    id: str
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...] = ()
    disabled_reason: str | None = None
    past_due: bool = False

    @property
    def status(self) -> PayoutAccountStatus:
        if self.payouts_enabled:
            return PayoutAccountStatus.ENABLED
        if self.past_due or (self.details_submitted and self.disabled_reason):
            return PayoutAccountStatus.RESTRICTED
        return PayoutAccountStatus.PENDING


@dataclass(frozen=True, slots=True)
class AccountLink:
    url: str
    expires_at: int  # Unix seconds


@dataclass(frozen=True, slots=True)
class Transfer:
    id: str
    amount: int
    currency: str  # ISO, upper case
    destination: str
    amount_reversed: int = 0
    metadata: Mapping[str, str] | None = None

    @property
    def reversed(self) -> bool:
        return self.amount_reversed >= self.amount


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    status: str  # Stripe's: pending | in_transit | paid | failed | canceled
    amount: int
    currency: str  # ISO, upper case
    account_id: str
    metadata: Mapping[str, str]
    failure: str | None = None  # failure_message, for the hunter

    @property
    def final(self) -> bool:
        return self.status in ("paid", "failed", "canceled")


@runtime_checkable
class ConnectProvider(Protocol):
    async def create_account(
        self, *, user_id: str, email: str, idempotency_key: str
    ) -> ConnectAccount: ...

    async def retrieve_account(self, account_id: str) -> ConnectAccount: ...

    async def account_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> AccountLink: ...

    async def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        transfer_group: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> Transfer:
        """Platform balance -> the connected account. Raises ProviderRefused."""
        ...

    async def retrieve_transfer(self, transfer_id: str) -> Transfer: ...

    async def reverse_transfer(self, transfer_id: str, *, idempotency_key: str) -> Transfer:
        """The connected account's balance back to the platform (all of it)."""
        ...

    async def create_payout(
        self,
        *,
        account_id: str,
        amount: int,
        currency: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> Payout:
        """The connected account's balance -> its bank account. Raises ProviderRefused."""
        ...

    async def retrieve_payout(self, *, account_id: str, payout_id: str) -> Payout: ...
