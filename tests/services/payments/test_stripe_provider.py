"""The Stripe provider over HTTP against localstripe: cards that succeed, are declined or need
3-D Secure, cancellation, refunds, and what the PaymentSheet needs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from services.payments.provider import IntentStatus
from services.payments.stripe_provider import StripePaymentProvider
from tests.stripe_server import localstripe

pytestmark = pytest.mark.asyncio
SECRET = "sk_test_local"


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    with localstripe() as url:
        yield url


def card(stripe_url: str, number: str) -> str:
    """A payment method for a test card number (what the app's SDK would create)."""
    made = httpx.post(
        f"{stripe_url}/v1/payment_methods",
        auth=(SECRET, ""),
        data={"type": "card", "card[number]": number, "card[exp_month]": "12",
              "card[exp_year]": "2034", "card[cvc]": "123"},
    )  # fmt: skip
    made.raise_for_status()
    pm: str = made.json()["id"]
    return pm


@pytest_asyncio.fixture
async def provider(stripe_url: str) -> AsyncIterator[StripePaymentProvider]:
    made = StripePaymentProvider(SECRET, publishable_key="pk_test_local", api_base=stripe_url)
    yield made
    await made.close()


async def _intent(provider: StripePaymentProvider, key: str, pm: str | None) -> object:
    customer = await provider.customer(user_id="u1", email="u1@example.test", idempotency_key=key)
    return await provider.create_intent(
        amount=2500, currency="EUR", customer_id=customer, payment_method=pm,
        transfer_group="bounty:b1", metadata={"operation_id": "op1", "bounty_id": "b1"},
        idempotency_key=f"charge:{key}",
    )  # fmt: skip


async def test_a_good_card_succeeds_and_refunds(
    provider: StripePaymentProvider, stripe_url: str
) -> None:
    intent = await _intent(provider, "good", card(stripe_url, "4242424242424242"))
    assert intent.status is IntentStatus.SUCCEEDED  # type: ignore[attr-defined]
    assert (intent.amount, intent.currency) == (2500, "EUR")  # type: ignore[attr-defined]
    assert intent.metadata == {"operation_id": "op1", "bounty_id": "b1"}  # type: ignore[attr-defined]
    again = await provider.retrieve_intent(intent.id)  # type: ignore[attr-defined]
    assert again.status is IntentStatus.SUCCEEDED
    refund = await provider.refund(intent_id=again.id, amount=2500, idempotency_key="refund:x")
    assert refund.id.startswith("re_")
    assert refund.status == "succeeded"
    # A succeeded intent cannot be cancelled: the provider says how it stands instead.
    assert (await provider.cancel_intent(again.id, idempotency_key="c")).status is (
        IntentStatus.SUCCEEDED
    )


async def test_a_card_declined_at_charge_leaves_a_failed_intent(
    provider: StripePaymentProvider, stripe_url: str
) -> None:
    intent = await _intent(provider, "declined", card(stripe_url, "4000000000000341"))
    assert intent.status is IntentStatus.REQUIRES_PAYMENT_METHOD  # type: ignore[attr-defined]
    assert intent.failure  # type: ignore[attr-defined]
    cancelled = await provider.cancel_intent(intent.id, idempotency_key="c")  # type: ignore[attr-defined]
    assert cancelled.status is IntentStatus.CANCELED


async def test_three_d_secure_requires_action_and_the_sheet_gets_its_keys(
    provider: StripePaymentProvider, stripe_url: str
) -> None:
    intent = await _intent(provider, "3ds", card(stripe_url, "4000002500003155"))
    assert intent.status is IntentStatus.REQUIRES_ACTION  # type: ignore[attr-defined]
    assert intent.client_secret.startswith(intent.id + "_secret_")  # type: ignore[attr-defined]
    without = await _intent(provider, "sheet", None)
    assert without.status is IntentStatus.REQUIRES_PAYMENT_METHOD  # type: ignore[attr-defined]
    assert without.failure is None  # type: ignore[attr-defined]
    key = await provider.ephemeral_key(customer_id="cus_x")
    assert key.startswith("ek_test_")


async def test_an_unknown_intent_is_a_lookup_error(provider: StripePaymentProvider) -> None:
    with pytest.raises(LookupError):
        await provider.retrieve_intent("pi_unknown")


async def test_an_unreachable_stripe_is_provider_unavailable() -> None:
    from services.payments.provider import ProviderUnavailable
    from tests.local_servers import free_port

    gone = StripePaymentProvider(
        SECRET, publishable_key="pk", api_base=f"http://127.0.0.1:{free_port()}",
        timeout_seconds=2,
    )  # fmt: skip
    with pytest.raises(ProviderUnavailable):
        await gone.customer(user_id="u", email="", idempotency_key="k")
    await gone.close()


async def test_saving_a_card_with_a_setup_intent_and_reading_it_back(
    provider: StripePaymentProvider, stripe_url: str
) -> None:
    customer = await provider.customer(user_id="u2", email="", idempotency_key="cus-setup")
    pm = card(stripe_url, "4242424242424242")
    setup = await provider.create_setup_intent(
        customer_id=customer, payment_method=pm, metadata={"user_id": "u2"},
        idempotency_key="setup:ok",
    )  # fmt: skip
    assert (setup.status, setup.payment_method, setup.failure) == (IntentStatus.SUCCEEDED, pm, None)
    assert setup.metadata == {"user_id": "u2"}
    assert (await provider.retrieve_setup_intent(setup.id)).status is IntentStatus.SUCCEEDED
    details = await provider.payment_method_details(pm)
    assert (details.brand, details.last4, details.exp_month, details.exp_year) == (
        "visa", "4242", 12, 2034,
    )  # fmt: skip
    assert details.fingerprint
    await provider.detach_payment_method(pm)
    await provider.detach_payment_method(pm)  # again: no error
    waiting = await provider.create_setup_intent(
        customer_id=customer, payment_method=None, metadata={}, idempotency_key="setup:sheet"
    )
    assert waiting.status is IntentStatus.REQUIRES_PAYMENT_METHOD
    assert waiting.client_secret.startswith(waiting.id + "_secret_")
    with pytest.raises(LookupError):
        await provider.payment_method_details("pm_unknown")


async def test_a_card_declined_at_saving_is_an_answer(
    provider: StripePaymentProvider, stripe_url: str
) -> None:
    customer = await provider.customer(user_id="u3", email="", idempotency_key="cus-declined")
    setup = await provider.create_setup_intent(
        customer_id=customer, payment_method=card(stripe_url, "4000000000000002"),
        metadata={}, idempotency_key="setup:declined",
    )  # fmt: skip
    assert setup.status is not IntentStatus.SUCCEEDED
    assert setup.failure == "Your card was declined."


async def test_a_paid_intent_reports_its_card_fingerprint(
    provider: StripePaymentProvider, stripe_url: str
) -> None:
    pm = card(stripe_url, "4242424242424242")
    intent = await _intent(provider, "fingerprint", pm)
    assert intent.payment_method == pm  # type: ignore[attr-defined]
    assert intent.card_fingerprint == (await provider.payment_method_details(pm)).fingerprint  # type: ignore[attr-defined]
    assert (await provider.retrieve_intent(intent.id)).card_fingerprint == intent.card_fingerprint  # type: ignore[attr-defined]
