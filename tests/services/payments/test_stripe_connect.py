"""The Stripe provider's Connect calls over HTTP, against our local Connect server
(tests/connect_server.py): Express accounts and onboarding links, transfers, payouts on the
connected account, refusals, reversals, and idempotency keys answered with the first object."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from app.db.models import PayoutAccountStatus
from services.payments.connect_provider import ProviderRefused
from services.payments.stripe_provider import StripePaymentProvider
from tests.connect_server import connect_server

pytestmark = pytest.mark.asyncio
SECRET = "sk_test_local"


@pytest.fixture(scope="module")
def connect_url() -> Iterator[str]:
    with connect_server() as url:
        yield url


@pytest_asyncio.fixture
async def provider(connect_url: str) -> AsyncIterator[StripePaymentProvider]:
    made = StripePaymentProvider(SECRET, publishable_key="pk_test_local", api_base=connect_url)
    yield made
    await made.close()


def _control(url: str, path: str, **data: str) -> None:
    httpx.post(f"{url}/_connect/{path}", data=data, auth=(SECRET, "")).raise_for_status()


async def test_an_express_account_onboards_through_its_link(
    provider: StripePaymentProvider, connect_url: str
) -> None:
    made = await provider.create_account(
        user_id="u1", email="u1@example.test", idempotency_key="connect-account:u1"
    )
    assert made.id.startswith("acct_")
    assert made.status is PayoutAccountStatus.PENDING
    assert "external_account" in made.requirements_due
    again = await provider.create_account(
        user_id="u1", email="u1@example.test", idempotency_key="connect-account:u1"
    )
    assert again.id == made.id  # the same key: the same account
    link = await provider.account_link(
        account_id=made.id, refresh_url="https://x.test/refresh", return_url="https://x.test/ok"
    )
    assert link.url.startswith(f"https://connect.stripe.com/setup/e/{made.id}/")
    assert link.expires_at > 0
    _control(connect_url, f"accounts/{made.id}/onboard")
    enabled = await provider.retrieve_account(made.id)
    assert (enabled.status, enabled.requirements_due) == (PayoutAccountStatus.ENABLED, ())
    _control(connect_url, f"accounts/{made.id}/restrict")
    restricted = await provider.retrieve_account(made.id)
    assert restricted.status is PayoutAccountStatus.RESTRICTED
    assert restricted.requirements_due == ("individual.verification.document",)
    with pytest.raises(LookupError):
        await provider.retrieve_account("acct_unknown")


async def test_a_transfer_then_a_payout_on_the_connected_account(
    provider: StripePaymentProvider, connect_url: str
) -> None:
    account = await provider.create_account(user_id="u2", email="", idempotency_key="acct:u2")
    metadata = {"operation_id": "op-2", "user_id": "u2"}
    with pytest.raises(ProviderRefused, match="capabilities"):
        await provider.create_transfer(
            amount=4500, currency="EUR", destination=account.id, transfer_group="payout:op-2",
            metadata=metadata, idempotency_key="payout-transfer:op-2",
        )  # fmt: skip
    _control(connect_url, f"accounts/{account.id}/onboard")
    transfer = await provider.create_transfer(
        amount=4500, currency="EUR", destination=account.id, transfer_group="payout:op-2",
        metadata=metadata, idempotency_key="payout-transfer:op-2b",
    )  # fmt: skip
    assert (transfer.amount, transfer.currency, transfer.destination) == (4500, "EUR", account.id)
    assert transfer.metadata == metadata
    assert (await provider.retrieve_transfer(transfer.id)) == transfer
    with pytest.raises(ProviderRefused, match="insufficient funds"):
        await provider.create_payout(
            account_id=account.id, amount=4501, currency="EUR", metadata=metadata,
            idempotency_key="payout:too-much",
        )  # fmt: skip
    payout = await provider.create_payout(
        account_id=account.id, amount=4500, currency="EUR", metadata=metadata,
        idempotency_key="payout:op-2",
    )  # fmt: skip
    assert (payout.status, payout.amount, payout.account_id) == ("pending", 4500, account.id)
    repeated = await provider.create_payout(
        account_id=account.id, amount=4500, currency="EUR", metadata=metadata,
        idempotency_key="payout:op-2",
    )  # fmt: skip
    assert repeated.id == payout.id  # one payout, whatever the retries
    _control(connect_url, f"payouts/{payout.id}", status="failed")
    failed = await provider.retrieve_payout(account_id=account.id, payout_id=payout.id)
    assert (failed.status, failed.failure) == ("failed", "The bank account has been closed.")
    with pytest.raises(LookupError):  # a payout is only found on its own connected account
        await provider.retrieve_payout(account_id="acct_other", payout_id=payout.id)
    reversed_ = await provider.reverse_transfer(transfer.id, idempotency_key="payout-reversal:op-2")
    assert reversed_.reversed
    again = await provider.reverse_transfer(transfer.id, idempotency_key="payout-reversal:op-2")
    assert again.amount_reversed == 4500
