"""Stripe, through its official SDK's async client over HTTPX (the only module importing `stripe`).

Payouts (`StripeConnect`): Express connected accounts, transfers to them, and payouts from their
balance on the connected account (`Stripe-Account`), each create keyed by our ids.

Separate charges and transfers: a PaymentIntent per funding attempt on the platform's own
balance, grouped per bounty by `transfer_group` ("bounty:<id>"). Timeouts are explicit and the
SDK's own retries are off: our operations re-drive with the same idempotency keys instead. A
saved payment method is attached at creation and confirmed in a second call, so a declined card
still leaves an intent whose state we can read (Stripe's answer to a declined confirmation is an
error, and the intent is the record of why).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import stripe

from services.payments.connect_provider import (
    AccountLink,
    ConnectAccount,
    Payout,
    ProviderRefused,
    Transfer,
)
from services.payments.provider import (
    CardDetails,
    Intent,
    IntentStatus,
    ProviderUnavailable,
    Refund,
    SetupIntent,
)

# Ephemeral keys are versioned: the app's SDK must speak the same API version.
EPHEMERAL_KEY_API_VERSION = "2024-06-20"


class StripeConnect:
    """Connect (payouts): Express accounts, onboarding links, transfers to them, and payouts
    from their balance (the `Stripe-Account` header). Mixed into `StripePaymentProvider`."""

    client: stripe.StripeClient

    async def create_account(
        self, *, user_id: str, email: str, idempotency_key: str
    ) -> ConnectAccount:
        params: dict[str, Any] = {
            "type": "express",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"user_id": user_id},
        }
        if email:
            params["email"] = email
        made = await _call(
            self.client.v1.accounts.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        )
        return _account(made)

    async def retrieve_account(self, account_id: str) -> ConnectAccount:
        return _account(await _found(self.client.v1.accounts.retrieve_async(account_id)))

    async def account_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> AccountLink:
        link = await _call(
            self.client.v1.account_links.create_async(
                {"account": account_id, "refresh_url": refresh_url, "return_url": return_url,
                 "type": "account_onboarding"}
            )
        )  # fmt: skip
        return AccountLink(str(link.url), int(link.expires_at))

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
        params: dict[str, Any] = {
            "amount": amount, "currency": currency.lower(), "destination": destination,
            "transfer_group": transfer_group, "metadata": dict(metadata),
        }  # fmt: skip
        made = await _refusable(
            self.client.v1.transfers.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        )
        return _transfer(made)

    async def retrieve_transfer(self, transfer_id: str) -> Transfer:
        return _transfer(await _found(self.client.v1.transfers.retrieve_async(transfer_id)))

    async def reverse_transfer(self, transfer_id: str, *, idempotency_key: str) -> Transfer:
        await _call(
            self.client.v1.transfers.reversals.create_async(
                transfer_id, {}, {"idempotency_key": idempotency_key}
            )
        )
        return await self.retrieve_transfer(transfer_id)

    async def create_payout(
        self,
        *,
        account_id: str,
        amount: int,
        currency: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> Payout:
        params: dict[str, Any] = {
            "amount": amount, "currency": currency.lower(), "metadata": dict(metadata),
        }  # fmt: skip
        options: dict[str, Any] = {"idempotency_key": idempotency_key, "stripe_account": account_id}
        made = await _refusable(self.client.v1.payouts.create_async(params, options))  # type: ignore[arg-type]
        return _payout(made, account_id)

    async def retrieve_payout(self, *, account_id: str, payout_id: str) -> Payout:
        found = await _found(
            self.client.v1.payouts.retrieve_async(payout_id, options={"stripe_account": account_id})
        )
        return _payout(found, account_id)


class StripePaymentProvider(StripeConnect):
    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        *,
        publishable_key: str,
        api_base: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.publishable_key = publishable_key
        self.http = stripe.HTTPXClient(timeout=timeout_seconds)
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else {},
            http_client=self.http,
            max_network_retries=0,
        )

    async def close(self) -> None:
        await self.http.close_async()  # type: ignore[no-untyped-call]

    async def customer(self, *, user_id: str, email: str, idempotency_key: str) -> str:
        params: dict[str, Any] = {"metadata": {"user_id": user_id}}
        if email:
            params["email"] = email
        made = await _call(
            self.client.v1.customers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return str(made.id)

    async def ephemeral_key(self, *, customer_id: str) -> str:
        key = await _call(
            self.client.v1.ephemeral_keys.create_async(
                {"customer": customer_id}, {"stripe_version": EPHEMERAL_KEY_API_VERSION}
            )
        )
        return str(key.secret)

    async def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer_id: str,
        payment_method: str | None,
        transfer_group: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> Intent:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer_id,
            "transfer_group": transfer_group,
            "metadata": dict(metadata),
        }
        if payment_method is not None:
            params["payment_method"] = payment_method
        intents = self.client.v1.payment_intents
        made = await _call(intents.create_async(params, {"idempotency_key": idempotency_key}))  # type: ignore[arg-type]
        if payment_method is None or made.status != "requires_confirmation":
            return await self._with_card(_intent(made))
        try:
            confirmed = await _call(
                intents.confirm_async(
                    made.id, options={"idempotency_key": f"{idempotency_key}:confirm"}
                )
            )
        except stripe.CardError:
            confirmed = await _call(intents.retrieve_async(made.id))
        return await self._with_card(_intent(confirmed))

    async def _with_card(self, intent: Intent) -> Intent:
        """A paid intent with its card's fingerprint (the risk signal); without it if the
        method cannot be read now (the payment itself is what matters)."""
        if intent.status is not IntentStatus.SUCCEEDED or intent.payment_method is None:
            return intent
        try:
            card = await self.payment_method_details(intent.payment_method)
        except (LookupError, ProviderUnavailable, stripe.StripeError):
            return intent
        return replace(intent, card_fingerprint=card.fingerprint)

    async def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            found = await _call(self.client.v1.payment_intents.retrieve_async(intent_id))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise LookupError(intent_id) from error
            raise
        return await self._with_card(_intent(found))

    async def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        intents = self.client.v1.payment_intents
        try:
            cancelled = await _call(
                intents.cancel_async(intent_id, options={"idempotency_key": idempotency_key})
            )
        except stripe.InvalidRequestError:  # succeeded (or cancelled) already: say how it is
            cancelled = await _call(intents.retrieve_async(intent_id))
        return _intent(cancelled)

    async def refund(self, *, intent_id: str, amount: int, idempotency_key: str) -> Refund:
        made = await _call(
            self.client.v1.refunds.create_async(
                {"payment_intent": intent_id, "amount": amount},
                {"idempotency_key": idempotency_key},
            )
        )
        return Refund(str(made.id), str(made.status))

    async def create_setup_intent(
        self,
        *,
        customer_id: str,
        payment_method: str | None,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> SetupIntent:
        setups = self.client.v1.setup_intents
        params: dict[str, Any] = {
            "customer": customer_id,
            "usage": "off_session",
            "metadata": dict(metadata),
        }
        made = await _call(setups.create_async(params, {"idempotency_key": idempotency_key}))  # type: ignore[arg-type]
        if payment_method is None or made.status not in (
            "requires_payment_method",
            "requires_confirmation",
        ):
            return _setup(made)
        try:
            confirmed = await _call(
                setups.confirm_async(
                    made.id,
                    {"payment_method": payment_method},
                    {"idempotency_key": f"{idempotency_key}:confirm"},
                )
            )
        except stripe.CardError as error:
            again = await _call(setups.retrieve_async(made.id))
            return replace(_setup(again), failure=error.user_message or "Your card was declined.")
        except stripe.InvalidRequestError as error:  # no such payment method, or not usable here
            again = await _call(setups.retrieve_async(made.id))
            reason = error.user_message or "This payment method cannot be saved."
            return replace(_setup(again), failure=reason)
        return _setup(confirmed)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent:
        try:
            return _setup(await _call(self.client.v1.setup_intents.retrieve_async(setup_intent_id)))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise LookupError(setup_intent_id) from error
            raise

    async def payment_method_details(self, payment_method_id: str) -> CardDetails:
        try:
            found = await _call(self.client.v1.payment_methods.retrieve_async(payment_method_id))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise LookupError(payment_method_id) from error
            raise
        card = _plain(getattr(found, "card", None))
        wallet = _plain(card.get("wallet"))
        customer = getattr(found, "customer", None)
        return CardDetails(
            id=str(found.id),
            brand=str(card.get("brand") or "unknown"),
            last4=str(card.get("last4") or "")[-4:],
            exp_month=int(card.get("exp_month") or 0),
            exp_year=int(card.get("exp_year") or 0),
            wallet=str(wallet["type"]) if wallet.get("type") else None,
            fingerprint=str(card["fingerprint"]) if card.get("fingerprint") else None,
            customer_id=str(getattr(customer, "id", customer)) if customer else None,
        )

    async def detach_payment_method(self, payment_method_id: str) -> None:
        try:
            await _call(self.client.v1.payment_methods.detach_async(payment_method_id))
        except stripe.InvalidRequestError as error:  # detached already, or unknown
            if error.http_status not in (400, 404):
                raise


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object (or dict, or None) as a plain dict."""
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        found: dict[str, Any] = obj.to_dict()
        return found
    return dict(obj)


def _setup(obj: Any) -> SetupIntent:
    error = _plain(getattr(obj, "last_setup_error", None))
    method = getattr(obj, "payment_method", None)
    customer = getattr(obj, "customer", None)
    status = "canceled" if obj.status == "canceled" else obj.status
    return SetupIntent(
        id=str(obj.id),
        status=IntentStatus(status),
        client_secret=str(obj.client_secret or ""),
        customer_id=str(getattr(customer, "id", customer)) if customer else None,
        payment_method=str(getattr(method, "id", method)) if method else None,
        metadata={str(k): str(v) for k, v in _plain(obj.metadata).items()},
        failure=str(error["message"]) if error.get("message") else None,
    )


async def _call(awaitable: Any) -> Any:
    """The SDK's answer; ProviderUnavailable when Stripe could not be reached or failed."""
    try:
        return await awaitable
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise ProviderUnavailable(str(error)) from error
    except stripe.IdempotencyError as error:  # 409: the same key is in flight (a concurrent retry)
        raise ProviderUnavailable(str(error)) from error
    except stripe.APIError as error:
        raise ProviderUnavailable(str(error)) from error


async def _found(awaitable: Any) -> Any:
    """Like `_call`; LookupError for an object Stripe does not know."""
    try:
        return await _call(awaitable)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            raise LookupError(str(error)) from error
        raise


async def _refusable(awaitable: Any) -> Any:
    """Like `_call`; ProviderRefused when Stripe says no (4xx): nothing was made."""
    try:
        return await _call(awaitable)
    except (stripe.InvalidRequestError, stripe.PermissionError) as error:
        raise ProviderRefused(error.user_message or str(error)) from error


def _metadata(found: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (found.get("metadata") or {}).items()}


def _account(obj: Any) -> ConnectAccount:
    found = _plain(obj)
    requirements = found.get("requirements") or {}
    due = list(requirements.get("currently_due") or []) + list(requirements.get("past_due") or [])
    return ConnectAccount(
        id=str(found["id"]),
        payouts_enabled=bool(found.get("payouts_enabled")),
        details_submitted=bool(found.get("details_submitted")),
        requirements_due=tuple(dict.fromkeys(str(item) for item in due)),
        disabled_reason=requirements.get("disabled_reason"),
        past_due=bool(requirements.get("past_due")),
    )


def _transfer(obj: Any) -> Transfer:
    found = _plain(obj)
    return Transfer(
        id=str(found["id"]),
        amount=int(found["amount"]),
        currency=str(found["currency"]).upper(),
        destination=str(found.get("destination")),
        amount_reversed=int(found.get("amount_reversed") or 0),
        metadata=_metadata(found),
    )


def _payout(obj: Any, account_id: str) -> Payout:
    found = _plain(obj)
    return Payout(
        id=str(found["id"]),
        status=str(found["status"]),
        amount=int(found["amount"]),
        currency=str(found["currency"]).upper(),
        account_id=account_id,
        metadata=_metadata(found),
        failure=found.get("failure_message"),
    )


def _intent(obj: Any) -> Intent:
    status = IntentStatus(obj.status)
    error = getattr(obj, "last_payment_error", None)
    failure = None
    if error and status is IntentStatus.REQUIRES_PAYMENT_METHOD:
        failure = str(error.get("message") if isinstance(error, dict) else error.message)
    metadata = (
        obj.metadata.to_dict() if hasattr(obj.metadata, "to_dict") else dict(obj.metadata or {})
    )
    method = getattr(obj, "payment_method", None)
    return Intent(
        id=str(obj.id),
        status=status,
        client_secret=str(obj.client_secret or ""),
        amount=int(obj.amount),
        currency=str(obj.currency).upper(),
        metadata={str(k): str(v) for k, v in metadata.items()},
        failure=failure,
        payment_method=str(getattr(method, "id", method)) if method else None,
    )
