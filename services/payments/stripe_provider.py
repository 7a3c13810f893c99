"""Stripe, through its official SDK's async client over HTTPX (the only module importing `stripe`).

Separate charges and transfers: a PaymentIntent per funding attempt on the platform's own
balance, grouped per bounty by `transfer_group` ("bounty:<id>"). Timeouts are explicit and the
SDK's own retries are off: our operations re-drive with the same idempotency keys instead. A
saved payment method is attached at creation and confirmed in a second call, so a declined card
still leaves an intent whose state we can read (Stripe's answer to a declined confirmation is an
error, and the intent is the record of why).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from services.payments.provider import Intent, IntentStatus, ProviderUnavailable, Refund

# Ephemeral keys are versioned: the app's SDK must speak the same API version.
EPHEMERAL_KEY_API_VERSION = "2024-06-20"


class StripePaymentProvider:
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
            return _intent(made)
        try:
            confirmed = await _call(
                intents.confirm_async(
                    made.id, options={"idempotency_key": f"{idempotency_key}:confirm"}
                )
            )
        except stripe.CardError:
            confirmed = await _call(intents.retrieve_async(made.id))
        return _intent(confirmed)

    async def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            return _intent(await _call(self.client.v1.payment_intents.retrieve_async(intent_id)))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise LookupError(intent_id) from error
            raise

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


async def _call(awaitable: Any) -> Any:
    """The SDK's answer; ProviderUnavailable when Stripe could not be reached or failed."""
    try:
        return await awaitable
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise ProviderUnavailable(str(error)) from error
    except stripe.APIError as error:
        raise ProviderUnavailable(str(error)) from error


def _intent(obj: Any) -> Intent:
    status = IntentStatus(obj.status)
    error = getattr(obj, "last_payment_error", None)
    failure = None
    if error and status is IntentStatus.REQUIRES_PAYMENT_METHOD:
        failure = str(error.get("message") if isinstance(error, dict) else error.message)
    metadata = (
        obj.metadata.to_dict() if hasattr(obj.metadata, "to_dict") else dict(obj.metadata or {})
    )
    return Intent(
        id=str(obj.id),
        status=status,
        client_secret=str(obj.client_secret or ""),
        amount=int(obj.amount),
        currency=str(obj.currency).upper(),
        metadata={str(k): str(v) for k, v in metadata.items()},
        failure=failure,
    )
