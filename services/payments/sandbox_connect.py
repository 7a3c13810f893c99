"""SANDBOX, NOT A PAYMENT PROVIDER: the sandbox's Stripe Connect part (accounts, onboarding links,
transfers, payouts), in memory, mixed into `SandboxPaymentProvider`.

It answers like Stripe in test mode, with two shortcuts a local stand-in needs: making an
onboarding link plays the hosted onboarding as finished at once (the account can take payouts),
and payouts wait "pending" until `settle_payout(id, "paid" | "failed")` plays the bank's answer.
Like Stripe it answers a repeated idempotency key with the first object, keeps each connected
account's balance (transfers in, payouts and reversals out; a failed payout's money returns to
it), and refuses a transfer to an account that cannot take one or a payout above the balance.
`settle_payout`, `onboard` and `restrict` return the event Stripe would send as a webhook, for
the caller to deliver.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.payments.connect_provider import (
    AccountLink,
    ConnectAccount,
    Payout,
    ProviderRefused,
    Transfer,
)

ONBOARDING_DUE = ("external_account", "tos_acceptance.date")
BANK_FAILURE = "The bank account details on file are probably incorrect."


class SandboxConnect:
    calls: list[tuple[str, str]]
    _by_key: dict[str, Any]

    def _id(self, prefix: str) -> str:
        raise NotImplementedError

    def _init_connect(self) -> None:
        self.accounts: dict[str, ConnectAccount] = {}
        self.transfers: dict[str, Transfer] = {}
        self.payouts: dict[str, Payout] = {}
        self.connected_balances: dict[tuple[str, str], int] = {}  # (account, currency) -> minor

    async def create_account(
        self, *, user_id: str, email: str, idempotency_key: str
    ) -> ConnectAccount:
        self.calls.append(("create_account", idempotency_key))
        if idempotency_key not in self._by_key:
            account = ConnectAccount(self._id("acct"), False, False, ONBOARDING_DUE)
            self._by_key[idempotency_key] = account.id
            self.accounts[account.id] = account
        return self.accounts[self._by_key[idempotency_key]]

    async def retrieve_account(self, account_id: str) -> ConnectAccount:
        return self.accounts[account_id]

    async def account_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> AccountLink:
        self.calls.append(("account_link", account_id))
        self.onboard(account_id)  # the hunter fills in the hosted form at once
        token = secrets.token_hex(6)
        return AccountLink(
            f"https://connect.sandbox.invalid/setup/e/{account_id}/{token}", int(time.time()) + 300
        )

    def onboard(self, account_id: str) -> dict[str, Any]:
        account = self.accounts[account_id] = replace(
            self.accounts[account_id], payouts_enabled=True, details_submitted=True,
            requirements_due=(), disabled_reason=None, past_due=False,
        )  # fmt: skip
        return _event("account.updated", _account_object(account))

    def restrict(self, account_id: str) -> dict[str, Any]:
        """Stripe disables payouts until the hunter provides more (a past-due requirement)."""
        account = self.accounts[account_id] = replace(
            self.accounts[account_id], payouts_enabled=False, details_submitted=True,
            requirements_due=("individual.verification.document",),
            disabled_reason="requirements.past_due", past_due=True,
        )  # fmt: skip
        return _event("account.updated", _account_object(account))

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
        self.calls.append(("create_transfer", idempotency_key))
        if idempotency_key in self._by_key:
            return self.transfers[self._by_key[idempotency_key]]
        account = self.accounts.get(destination)
        if account is None or not account.payouts_enabled:
            raise ProviderRefused("the destination account cannot receive transfers")
        transfer = Transfer(
            self._id("tr"), amount, currency.upper(), destination, 0, dict(metadata)
        )
        self._by_key[idempotency_key] = transfer.id
        self.transfers[transfer.id] = transfer
        self._move(destination, transfer.currency, amount)
        return transfer

    async def retrieve_transfer(self, transfer_id: str) -> Transfer:
        return self.transfers[transfer_id]

    async def reverse_transfer(self, transfer_id: str, *, idempotency_key: str) -> Transfer:
        self.calls.append(("reverse_transfer", idempotency_key))
        transfer = self.transfers[transfer_id]
        if idempotency_key not in self._by_key and not transfer.reversed:
            self._by_key[idempotency_key] = transfer_id
            left = transfer.amount - transfer.amount_reversed
            self._move(transfer.destination, transfer.currency, -left)
            transfer = self.transfers[transfer_id] = replace(
                transfer, amount_reversed=transfer.amount
            )
        return transfer

    async def create_payout(
        self,
        *,
        account_id: str,
        amount: int,
        currency: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> Payout:
        self.calls.append(("create_payout", idempotency_key))
        if idempotency_key in self._by_key:
            return self.payouts[self._by_key[idempotency_key]]
        code = currency.upper()
        if self.connected_balances.get((account_id, code), 0) < amount:
            raise ProviderRefused("the connected account's balance is too low for this payout")
        payout = Payout(self._id("po"), "pending", amount, code, account_id, dict(metadata))
        self._by_key[idempotency_key] = payout.id
        self.payouts[payout.id] = payout
        self._move(account_id, code, -amount)
        return payout

    async def retrieve_payout(self, *, account_id: str, payout_id: str) -> Payout:
        return self.payouts[payout_id]

    def settle_payout(self, payout_id: str, status: str = "paid") -> dict[str, Any]:
        """The bank's answer: `paid` or `failed` (the money returns to the connected account)."""
        payout = self.payouts[payout_id]
        if not payout.final:
            failure = BANK_FAILURE if status == "failed" else None
            payout = self.payouts[payout_id] = replace(payout, status=status, failure=failure)
            if status in ("failed", "canceled"):
                self._move(payout.account_id, payout.currency, payout.amount)
        return payout_event(f"payout.{status}", payout)

    def paid_out(self, account_id: str) -> int:
        """Minor units paid to the account's bank (a test's view of it)."""
        return sum(
            p.amount
            for p in self.payouts.values()
            if p.account_id == account_id and p.status == "paid"
        )

    def _move(self, account_id: str, currency: str, amount: int) -> None:
        key = (account_id, currency)
        self.connected_balances[key] = self.connected_balances.get(key, 0) + amount


def _event(event_type: str, obj: dict[str, Any], account: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"evt_sandbox_{secrets.token_hex(8)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }
    if account is not None:
        event["account"] = account
    return event


def _account_object(account: ConnectAccount) -> dict[str, Any]:
    return {
        "id": account.id, "object": "account", "type": "express",
        "payouts_enabled": account.payouts_enabled,
        "details_submitted": account.details_submitted,
        "requirements": {
            "currently_due": list(account.requirements_due),
            "past_due": list(account.requirements_due) if account.past_due else [],
            "disabled_reason": account.disabled_reason,
        },
    }  # fmt: skip


def payout_event(event_type: str, payout: Payout) -> dict[str, Any]:
    """A Stripe-shaped Connect event about `payout` (`account` names the connected account)."""
    return _event(
        event_type,
        {
            "id": payout.id,
            "object": "payout",
            "status": payout.status,
            "amount": payout.amount,
            "currency": payout.currency.lower(),
            "metadata": dict(payout.metadata),
            "failure_message": payout.failure,
        },
        account=payout.account_id,
    )


def transfer_event(event_type: str, transfer: Transfer) -> dict[str, Any]:
    return _event(
        event_type,
        {
            "id": transfer.id,
            "object": "transfer",
            "amount": transfer.amount,
            "currency": transfer.currency.lower(),
            "destination": transfer.destination,
            "amount_reversed": transfer.amount_reversed,
            "reversed": transfer.reversed,
            "metadata": dict(transfer.metadata or {}),
        },
    )
