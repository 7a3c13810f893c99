"""What a payment provider does for us, whichever it is (`sandbox`, `stripe`).

Every call that creates something carries an idempotency key derived from our ids
(`charge:<operation id>`): the provider answers a repeated key with the first object, so
re-driving an operation a crash interrupted never charges twice. Calls happen outside any open
database transaction. A provider raises `ProviderUnavailable` when it could not be reached or
answered with a server error (retry later with the same key); a refusal (a declined card) is an
answer, not an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ProviderUnavailable(RuntimeError):
    """No answer, or a server error: nothing is known about the call; retry with its key."""


class IntentStatus(StrEnum):
    """Stripe's PaymentIntent statuses, and FAILED for a confirmation the provider declined."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    status: IntentStatus
    client_secret: str
    amount: int
    currency: str  # ISO, upper case
    metadata: Mapping[str, str]
    failure: str | None = None  # why the last attempt failed, in words a payer can read


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    status: str  # succeeded | pending | failed | canceled (Stripe's words)


class PaymentProvider(Protocol):
    name: str  # "sandbox" or "stripe": stored on each operation
    publishable_key: str  # what the app's Stripe SDK is initialised with

    async def customer(self, *, user_id: str, email: str, idempotency_key: str) -> str:
        """A customer id for the user (cus_...)."""
        ...

    async def ephemeral_key(self, *, customer_id: str) -> str:
        """A short-lived key that lets the PaymentSheet show the customer's saved methods."""
        ...

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
        """A PaymentIntent; with `payment_method` it is confirmed at once (off the sheet)."""
        ...

    async def retrieve_intent(self, intent_id: str) -> Intent: ...

    async def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        """Cancel unless it already succeeded: the intent as it now is."""
        ...

    async def refund(self, *, intent_id: str, amount: int, idempotency_key: str) -> Refund: ...
