"""A payout over GraphQL on the Stripe provider: localstripe with our Connect server in front of
it (tests/stripe_server.py, tests/connect_server.py), onboarding through `account.updated`, the
transfer and payout made over HTTP, and the `payout.paid` webhook settling it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from strawberry import relay

from app.db.engine import SessionFactory
from app.db.models import BountyStatus
from app.main import create_app
from app.settings import Settings
from services.payments import operations, signatures
from tests.bounty_factories import APPROVE, insert_bounty
from tests.conftest import TEST_WEBHOOK_SECRET, make_settings
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import run_payment_jobs
from tests.resolvers.test_payouts import ACCOUNT, LINK, PAYOUT, WALLET
from tests.stripe_server import localstripe

pytestmark = pytest.mark.asyncio
SECRET = "sk_test_local"


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    with localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def stripe_settings(database_url: str, stripe_url: str) -> Settings:
    return make_settings(
        database_url=database_url, stripe_secret_key=SECRET, stripe_api_base=stripe_url,
        stripe_publishable_key="pk_test_local",
    )  # fmt: skip


@pytest_asyncio.fixture(scope="module")
async def stripe_client(
    stripe_settings: Settings, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    application: Starlette = create_app(stripe_settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def _graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _deliver(client: httpx.AsyncClient, event: dict[str, Any]) -> None:
    raw = orjson.dumps(event)
    header = signatures.sign(raw, TEST_WEBHOOK_SECRET)
    answer = await client.post(
        "/webhooks/stripe", content=raw, headers={"stripe-signature": header}
    )
    assert answer.status_code == 200, answer.text


def _control(stripe_url: str, path: str, **data: str) -> dict[str, Any]:
    answer = httpx.post(f"{stripe_url}/_connect/{path}", data=data, auth=(SECRET, ""))
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


async def test_a_payout_request_over_graphql_against_stripe(
    stripe_client: httpx.AsyncClient,
    stripe_settings: Settings,
    stripe_url: str,
    session_factory: SessionFactory,
) -> None:
    poster, hunter = await create_user(session_factory), await create_user(session_factory)
    bounty_id = await insert_bounty(
        session_factory, poster, status=BountyStatus.SUBMITTED, hunter=hunter,
        reward_amount=5_000, reward_currency="EUR",
    )  # fmt: skip
    approve = {"input": {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "a"}}
    await _graphql(stripe_client, APPROVE, approve, token=token_for(stripe_settings, poster))
    token = token_for(stripe_settings, hunter)

    linked = (await _graphql(stripe_client, LINK, token=token))["payoutAccountLink"]
    assert linked["url"].startswith("https://connect.stripe.com/setup/e/acct_")
    assert linked["account"]["status"] == "PENDING"
    assert "external_account" in linked["account"]["requirementsDue"]
    account_id = linked["url"].split("/")[-2]
    refused = (
        await _graphql(
            stripe_client,
            PAYOUT,
            {"input": {"amount": 4_500, "currency": "EUR", "idempotencyKey": "p"}},
            token=token,
        )
    )["requestPayout"]
    assert refused["code"] == "PAYOUT_ACCOUNT_NOT_READY"

    # The hunter finishes Stripe's hosted onboarding; Stripe tells us by account.updated.
    onboarded = _control(stripe_url, f"accounts/{account_id}/onboard")
    await _deliver(
        stripe_client,
        {"id": "evt_account_1", "object": "event", "type": "account.updated",
         "data": {"object": onboarded}},
    )  # fmt: skip
    await run_payment_jobs(session_factory, stripe_settings)
    account = (await _graphql(stripe_client, ACCOUNT, token=token))["payoutAccount"]
    assert (account["status"], account["payoutsEnabled"]) == ("ENABLED", True)

    paid_out = (
        await _graphql(
            stripe_client,
            PAYOUT,
            {"input": {"amount": 4_500, "currency": "EUR", "idempotencyKey": "p"}},
            token=token,
        )
    )["requestPayout"]
    assert paid_out["__typename"] == "RequestPayoutSuccess", paid_out
    assert paid_out["payout"]["status"] == "IN_TRANSIT"
    assert paid_out["wallet"] == {"currency": "EUR", "available": 0, "pending": 4_500}

    async with session_factory() as session:
        operation = await operations.get(
            session, uuid.UUID(relay.from_base64(paid_out["payout"]["id"])[1])
        )
    assert operation.provider_id is not None
    assert operation.provider_id.startswith("po_")
    assert operation.source_id is not None
    assert operation.source_id.startswith("tr_")
    settled = _control(stripe_url, f"payouts/{operation.provider_id}", status="paid")
    await _deliver(
        stripe_client,
        {"id": "evt_payout_1", "object": "event", "type": "payout.paid", "account": account_id,
         "data": {"object": settled}},
    )  # fmt: skip
    await run_payment_jobs(session_factory, stripe_settings)
    wallet = (await _graphql(stripe_client, WALLET, token=token))["wallet"]
    assert wallet == {"available": 0, "pending": 0}
    await assert_ledger_invariants(session_factory)
