"""SANDBOX, NOT A PAYMENT PROVIDER: a stand-in that answers like Stripe in test mode, in memory.

The development default (`STRIPE_SECRET_KEY` unset); production refuses to start on it unless
`ALLOW_SANDBOX_PAYMENTS=true`. It accepts Stripe's documented test payment methods and card
numbers: `pm_card_visa` / 4242424242424242 succeed; `pm_card_chargeDeclined` /
4000000000000002 are declined; `pm_card_authenticationRequired` / 4000002500003155 ask for 3-D
Secure (`requires_action`). Without a payment method an intent waits for the PaymentSheet
(`requires_payment_method`); `complete(intent_id, payment_method)` plays the app's part and
returns the event Stripe would send as a webhook (`payment_intent.succeeded` or
`payment_intent.payment_failed`), for the caller to deliver.

Saving a card: `create_setup_intent` with one of those test methods succeeds (declined ones
fail, 3-D Secure ones wait) and saves a new `pm_sandbox_...` that charges like the test card it
came from; without a method the SetupIntent waits for the sheet, and `confirm_setup(id, method)`
plays the app's part and returns the `setup_intent.succeeded` event. Every saved card (also
one confirmed at once) emits that event into `events`, for the caller to deliver. Cards
report a fingerprint per card number, so the same test card saved by two users shares one (the
risk signal).
`pm_card_applepay` and `pm_card_googlepay` (sandbox only) stand for wallet cards.

Like Stripe it answers a repeated idempotency key with the first object. State lives in the
process: a gateway and a separate worker process each have their own sandbox.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.payments.provider import CardDetails, Intent, IntentStatus, Refund, SetupIntent
from services.payments.sandbox_connect import SandboxConnect

SUCCEEDS = frozenset({"pm_card_visa", "pm_card_mastercard", "4242424242424242"})
DECLINED = frozenset({"pm_card_chargeDeclined", "4000000000000002", "pm_card_visa_chargeDeclined"})
NEEDS_3DS = frozenset(
    {"pm_card_authenticationRequired", "4000002500003155", "pm_card_threeDSecure2Required"}
)
DECLINE_MESSAGE = "Your card was declined."
# The card behind each test method: (brand, number, wallet).
CARDS: dict[str, tuple[str, str, str | None]] = {
    "pm_card_visa": ("visa", "4242424242424242", None),
    "4242424242424242": ("visa", "4242424242424242", None),
    "pm_card_mastercard": ("mastercard", "5555555555554444", None),
    "pm_card_applepay": ("visa", "4242424242424242", "apple_pay"),
    "pm_card_googlepay": ("mastercard", "5555555555554444", "google_pay"),
    "pm_card_chargeDeclined": ("visa", "4000000000000002", None),
    "pm_card_visa_chargeDeclined": ("visa", "4000000000000002", None),
    "4000000000000002": ("visa", "4000000000000002", None),
    "pm_card_authenticationRequired": ("visa", "4000002500003155", None),
    "pm_card_threeDSecure2Required": ("visa", "4000000000003220", None),
    "4000002500003155": ("visa", "4000002500003155", None),
}


class SandboxPaymentProvider(SandboxConnect):  # Connect (payouts): sandbox_connect.py
    name = "sandbox"
    publishable_key = "pk_test_sandbox"

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._by_key: dict[str, Any] = {}
        self.intents: dict[str, Intent] = {}
        self.refunds: dict[str, tuple[str, int]] = {}  # refund id -> (intent id, amount)
        self.calls: list[tuple[str, str]] = []  # (method, idempotency key or id), for tests
        self.setups: dict[str, SetupIntent] = {}
        self.methods: dict[str, CardDetails] = {}  # saved methods
        self.sources: dict[str, str] = {}  # saved method -> the test method it charges like
        self.events: list[dict[str, Any]] = []  # setup_intent.succeeded, as Stripe would send
        self._init_connect()

    def _id(self, prefix: str) -> str:
        return f"{prefix}_sandbox_{next(self._ids)}_{secrets.token_hex(4)}"

    async def customer(self, *, user_id: str, email: str, idempotency_key: str) -> str:
        self.calls.append(("customer", idempotency_key))
        found: str = self._by_key.setdefault(idempotency_key, self._id("cus"))
        return found

    async def ephemeral_key(self, *, customer_id: str) -> str:
        return f"ek_test_sandbox_{secrets.token_hex(8)}"

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
        self.calls.append(("create_intent", idempotency_key))
        if idempotency_key in self._by_key:
            first: Intent = self.intents[self._by_key[idempotency_key]]
            return first
        intent_id = self._id("pi")
        intent = Intent(
            id=intent_id,
            status=IntentStatus.REQUIRES_PAYMENT_METHOD,
            client_secret=f"{intent_id}_secret_{secrets.token_hex(6)}",
            amount=amount,
            currency=currency.upper(),
            metadata=dict(metadata),
        )
        if payment_method is not None:
            intent = self._paid_with(intent, payment_method)
        self._by_key[idempotency_key] = intent_id
        self.intents[intent_id] = intent
        return intent

    async def retrieve_intent(self, intent_id: str) -> Intent:
        return self.intents[intent_id]

    async def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        self.calls.append(("cancel_intent", idempotency_key))
        intent = self.intents[intent_id]
        if intent.status not in (IntentStatus.SUCCEEDED, IntentStatus.CANCELED):
            intent = self.intents[intent_id] = replace(intent, status=IntentStatus.CANCELED)
        return intent

    async def refund(self, *, intent_id: str, amount: int, idempotency_key: str) -> Refund:
        self.calls.append(("refund", idempotency_key))
        if idempotency_key not in self._by_key:
            refund_id = self._id("re")
            self._by_key[idempotency_key] = refund_id
            self.refunds[refund_id] = (intent_id, amount)
        return Refund(self._by_key[idempotency_key], "succeeded")

    def charged(self, bounty_id: str) -> int:
        """Minor units charged for a bounty and not refunded (a test's view of the card)."""
        mine = {k: i for k, i in self.intents.items() if i.metadata.get("bounty_id") == bounty_id}
        paid = sum(i.amount for i in mine.values() if i.status is IntentStatus.SUCCEEDED)
        return paid - sum(amount for pi, amount in self.refunds.values() if pi in mine)

    def intents_for(self, bounty_id: str) -> list[Intent]:
        return [i for i in self.intents.values() if i.metadata.get("bounty_id") == bounty_id]

    def complete(self, intent_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        """The app confirms the intent on the PaymentSheet: the webhook event Stripe would send."""
        intent = self.intents[intent_id] = self._paid_with(self.intents[intent_id], payment_method)
        kind = "succeeded" if intent.status is IntentStatus.SUCCEEDED else "payment_failed"
        return event(f"payment_intent.{kind}", intent)

    def _paid_with(self, intent: Intent, payment_method: str) -> Intent:
        confirmed = _confirmed(intent, self.sources.get(payment_method, payment_method))
        fingerprint = None
        if confirmed.status is IntentStatus.SUCCEEDED:
            fingerprint = self._details(payment_method).fingerprint
        return replace(confirmed, payment_method=payment_method, card_fingerprint=fingerprint)

    def _details(self, payment_method: str, customer_id: str | None = None) -> CardDetails:
        if payment_method in self.methods:
            return self.methods[payment_method]
        brand, number, wallet = CARDS.get(payment_method, ("visa", "4242424242424242", None))
        return CardDetails(
            id=payment_method, brand=brand, last4=number[-4:], exp_month=12, exp_year=2034,
            wallet=wallet, fingerprint=_fingerprint(number), customer_id=customer_id,
        )  # fmt: skip

    async def create_setup_intent(
        self,
        *,
        customer_id: str,
        payment_method: str | None,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> SetupIntent:
        self.calls.append(("create_setup_intent", idempotency_key))
        if idempotency_key in self._by_key:
            first: SetupIntent = self.setups[self._by_key[idempotency_key]]
            return first
        setup_id = self._id("seti")
        setup = SetupIntent(
            id=setup_id, status=IntentStatus.REQUIRES_PAYMENT_METHOD,
            client_secret=f"{setup_id}_secret_{secrets.token_hex(6)}", customer_id=customer_id,
            payment_method=None, metadata=dict(metadata),
        )  # fmt: skip
        if payment_method is not None:
            setup = self._set_up(setup, payment_method)
        self._by_key[idempotency_key] = setup_id
        self.setups[setup_id] = setup
        return setup

    def _set_up(self, setup: SetupIntent, payment_method: str) -> SetupIntent:
        source = self.sources.get(payment_method, payment_method)
        if source in DECLINED or not source.startswith(("pm_", "4")):
            return replace(setup, status=IntentStatus.REQUIRES_PAYMENT_METHOD,
                           failure=DECLINE_MESSAGE)  # fmt: skip
        if source in NEEDS_3DS:
            return replace(setup, status=IntentStatus.REQUIRES_ACTION)
        saved = self._id("pm")
        self.sources[saved] = source
        self.methods[saved] = replace(
            self._details(source, setup.customer_id), id=saved, customer_id=setup.customer_id
        )
        done = replace(setup, status=IntentStatus.SUCCEEDED, payment_method=saved, failure=None)
        self.events.append(setup_event(done))  # what Stripe would send: deliver it to test
        return done

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent:
        if setup_intent_id not in self.setups:
            raise LookupError(setup_intent_id)
        return self.setups[setup_intent_id]

    async def payment_method_details(self, payment_method_id: str) -> CardDetails:
        if payment_method_id not in self.methods and payment_method_id not in CARDS:
            raise LookupError(payment_method_id)
        return self._details(payment_method_id)

    async def detach_payment_method(self, payment_method_id: str) -> None:
        self.calls.append(("detach_payment_method", payment_method_id))
        if payment_method_id in self.methods:
            self.methods[payment_method_id] = replace(
                self.methods[payment_method_id], customer_id=None
            )

    def confirm_setup(self, setup_intent_id: str, payment_method: str) -> dict[str, Any]:
        """The app saves a card on the sheet: the webhook event Stripe would send."""
        setup = self.setups[setup_intent_id] = self._set_up(
            self.setups[setup_intent_id], payment_method
        )
        return self.events[-1] if setup.status is IntentStatus.SUCCEEDED else setup_event(setup)


def setup_event(setup: SetupIntent) -> dict[str, Any]:
    """A Stripe-shaped `setup_intent.*` event about `setup` (what a webhook body holds)."""
    kind = "succeeded" if setup.status is IntentStatus.SUCCEEDED else "setup_failed"
    return {
        "id": f"evt_sandbox_{secrets.token_hex(8)}",
        "object": "event",
        "type": f"setup_intent.{kind}",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": setup.id,
                "object": "setup_intent",
                "status": setup.status.value,
                "customer": setup.customer_id,
                "payment_method": setup.payment_method,
                "metadata": dict(setup.metadata),
            }
        },
    }


def _fingerprint(number: str) -> str:
    return "fp_sandbox_" + hashlib.sha256(number.encode()).hexdigest()[:16]


def _confirmed(intent: Intent, payment_method: str) -> Intent:
    if payment_method in DECLINED:
        return replace(intent, status=IntentStatus.REQUIRES_PAYMENT_METHOD, failure=DECLINE_MESSAGE)
    if payment_method in NEEDS_3DS:
        return replace(intent, status=IntentStatus.REQUIRES_ACTION)
    if payment_method in SUCCEEDS or payment_method.startswith("pm_"):
        return replace(intent, status=IntentStatus.SUCCEEDED, failure=None)
    return replace(intent, status=IntentStatus.REQUIRES_PAYMENT_METHOD, failure=DECLINE_MESSAGE)


def event(event_type: str, intent: Intent) -> dict[str, Any]:
    """A Stripe-shaped event about `intent` (what a webhook body holds)."""
    return {
        "id": f"evt_sandbox_{secrets.token_hex(8)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": intent.id,
                "object": "payment_intent",
                "status": intent.status.value,
                "amount": intent.amount,
                "currency": intent.currency.lower(),
                "metadata": dict(intent.metadata),
                "last_payment_error": {"message": intent.failure} if intent.failure else None,
            }
        },
    }
