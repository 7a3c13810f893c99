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

from services.outages import DependencyUnavailable


class ProviderUnavailable(DependencyUnavailable):
    """No answer, or a server error: nothing is known about the call; retry with its key.

    A dependency outage like PostgreSQL's: where a mutation does not turn it into its own
    answer (funding records the attempt and answers REQUESTED), the client gets
    SERVICE_UNAVAILABLE with `retryAfter` (app/outages.py), never an internal error.
    """

    def __init__(self, detail: str) -> None:
        super().__init__("stripe", "the payment provider could not be reached: try again")
        self.detail = detail  # the SDK's words, for logs; clients get the sentence above

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})"


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
    payment_method: str | None = None  # pm_... the intent was (or is being) paid with
    card_fingerprint: str | None = None  # the card's fingerprint once paid (a risk signal)


@dataclass(frozen=True, slots=True)
class SetupIntent:
    """Saving a payment method for later (Stripe's SetupIntent): statuses as a PaymentIntent's."""

    id: str
    status: IntentStatus
    client_secret: str
    customer_id: str | None
    payment_method: str | None
    metadata: Mapping[str, str]
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class CardDetails:
    """What the app shows of a saved payment method (never the number)."""

    id: str  # pm_...
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    wallet: str | None  # apple_pay, google_pay, ... (Stripe's card.wallet.type)
    fingerprint: str | None  # the provider's fingerprint of the card number
    customer_id: str | None


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

    async def create_setup_intent(
        self,
        *,
        customer_id: str,
        payment_method: str | None,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> SetupIntent:
        """A SetupIntent; with `payment_method` it is confirmed at once (a declined card is an
        answer with `failure`, not an exception)."""
        ...

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent:
        """LookupError when the provider does not know it."""
        ...

    async def payment_method_details(self, payment_method_id: str) -> CardDetails:
        """LookupError when the provider does not know it."""
        ...

    async def detach_payment_method(self, payment_method_id: str) -> None:
        """Forget a saved method at the provider (done already: no error)."""
        ...
