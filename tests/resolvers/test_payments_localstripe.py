"""End to end over GraphQL with the Stripe provider against localstripe (issue 12): save a test
card and fund with it, declines (at saving and at charging), 3-D Secure `requires_action`
finished by the payer and reported by a signed webhook, approval releasing the reward with the
fee, and cancelling an open bounty refunding the poster. Real GraphQL documents through the real
app; provider calls go over HTTP to localstripe. Ledger invariants hold after each test."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlmodel import col
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, RiskFingerprint, User
from app.main import create_app
from app.settings import Settings
from services.payments import ledger, signatures
from tests.bounty_factories import (
    ACCEPT,
    APPLY,
    APPROVE,
    CANCEL,
    PUBLISH,
    SUBMIT,
    bounty_snapshot,
    insert_bounty,
)
from tests.conftest import TEST_WEBHOOK_SECRET, make_settings
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import run_payment_jobs
from tests.stripe_server import localstripe

pytestmark = pytest.mark.asyncio
S = BountyStatus
SECRET = "sk_test_local"
ADD = """mutation ($input: AddPaymentMethodInput) {
  addPaymentMethod(input: $input) {
    __typename
    ... on AddPaymentMethodSuccess {
      setup { status failure customerId publishableKey }
      paymentMethod { id brand last4 expMonth expYear isDefault }
    }
    ... on UserError { code message }
  }
}"""


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    with localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def stripe_settings(stripe_url: str, database_url: str) -> Settings:
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


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


class Api:
    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client, self.settings = client, settings

    async def run(self, document: str, variables: dict[str, Any], user: User) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {token_for(self.settings, user)}"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = next(iter(body["data"].values()))
        return data


@pytest.fixture
def api(stripe_client: httpx.AsyncClient, stripe_settings: Settings) -> Api:
    return Api(stripe_client, stripe_settings)


def card(stripe_url: str, number: str) -> str:
    """A payment method for a test card number (what the app's SDK makes)."""
    made = httpx.post(
        f"{stripe_url}/v1/payment_methods", auth=(SECRET, ""),
        data={"type": "card", "card[number]": number, "card[exp_month]": "12",
              "card[exp_year]": "2034", "card[cvc]": "123"},
    )  # fmt: skip
    made.raise_for_status()
    pm: str = made.json()["id"]
    return pm


SHEET = PUBLISH.replace(
    "payment { status failure paymentIntentId }",
    "payment { status failure paymentIntentId clientSecret }",
)


async def _publish(api: Api, poster: User, bounty_id: uuid.UUID, pm: str | None) -> dict[str, Any]:
    variables = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": str(uuid.uuid4())}
    if pm is not None:
        variables["paymentMethodId"] = pm
    return await api.run(SHEET, {"input": variables}, poster)


async def _fingerprint_hash(stripe_url: str, pm: str) -> str:
    found = await asyncio.to_thread(
        httpx.get, f"{stripe_url}/v1/payment_methods/{pm}", auth=(SECRET, "")
    )
    fingerprint = found.json()["card"]["fingerprint"]
    return hashlib.sha256(f"CARD:{fingerprint}".encode()).hexdigest()


async def _fingerprints(session_factory: SessionFactory, user: User) -> list[str]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(col(RiskFingerprint.value_hash)).where(col(RiskFingerprint.user_id) == user.id)
        )
        return sorted(rows)


async def _draft(session_factory: SessionFactory) -> tuple[User, uuid.UUID]:
    poster = await create_user(session_factory)
    return poster, await insert_bounty(session_factory, poster, status=S.DRAFT, reward_amount=2500)


async def test_save_a_card_fund_with_it_and_release_with_the_fee(
    api: Api, session_factory: SessionFactory, stripe_url: str, stripe_settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    hunter = await create_user(session_factory)
    added = await api.run(
        ADD, {"input": {"paymentMethodId": card(stripe_url, "4242424242424242")}}, poster
    )
    assert added["setup"]["status"] == "SUCCEEDED", added
    assert added["setup"]["customerId"].startswith("cus_")
    assert added["setup"]["publishableKey"] == "pk_test_local"
    method = added["paymentMethod"]
    assert {k: method[k] for k in ("brand", "last4", "expMonth", "expYear", "isDefault")} == {
        "brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2034, "isDefault": True,
    }  # fmt: skip
    assert await _fingerprints(session_factory, poster) == [
        await _fingerprint_hash(stripe_url, method["id"])
    ]
    published = await _publish(api, poster, bounty_id, method["id"])
    assert (published["bounty"]["status"], published["payment"]["status"]) == ("OPEN", "SUCCEEDED")
    assert published["payment"]["paymentIntentId"].startswith("pi_")
    bounty = global_id("Bounty", bounty_id)
    applied = await api.run(APPLY, {"input": {"bountyId": bounty, "message": "on it"}}, hunter)
    accepted = await api.run(
        ACCEPT, {"input": {"applicationId": applied["application"]["id"]}}, poster
    )
    assert accepted["bounty"]["status"] == "ASSIGNED"
    await api.run(SUBMIT, {"input": {"bountyId": bounty, "note": "done"}}, hunter)
    approved = await api.run(
        APPROVE, {"input": {"bountyId": bounty, "idempotencyKey": "a"}}, poster
    )
    assert approved["bounty"]["status"] == "COMPLETED"
    async with session_factory() as session:
        assert await ledger.balance(session, ledger.wallet(hunter.id, "USD")) == 2250
        assert await ledger.balance(session, ledger.fees("USD")) == 250
    assert stripe_settings.platform_fee_bps == 1000


async def test_declines_at_saving_and_at_charging(
    api: Api, session_factory: SessionFactory, stripe_url: str
) -> None:
    poster, bounty_id = await _draft(session_factory)
    refused = await api.run(
        ADD, {"input": {"paymentMethodId": card(stripe_url, "4000000000000002")}}, poster
    )
    assert refused["setup"]["status"] == "FAILED"
    assert refused["setup"]["failure"]
    assert refused["paymentMethod"] is None
    declined = await _publish(api, poster, bounty_id, card(stripe_url, "4000000000000341"))
    assert (declined["bounty"]["status"], declined["payment"]["status"]) == ("DRAFT", "FAILED")
    assert declined["payment"]["failure"]
    assert (await bounty_snapshot(session_factory, bounty_id))["payments"] == []


async def _deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    raw = orjson.dumps(body)
    header = signatures.sign(raw, TEST_WEBHOOK_SECRET)
    answer = await client.post(
        "/webhooks/stripe", content=raw, headers={"stripe-signature": header}
    )
    assert answer.status_code == 200, answer.text


async def test_three_d_secure_waits_then_the_webhook_opens_the_bounty(
    api: Api,
    session_factory: SessionFactory,
    stripe_url: str,
    stripe_client: httpx.AsyncClient,
    stripe_settings: Settings,
) -> None:
    poster, bounty_id = await _draft(session_factory)
    waiting = await _publish(api, poster, bounty_id, card(stripe_url, "4000002500003155"))
    payment = waiting["payment"]
    assert (waiting["bounty"]["status"], payment["status"]) == (
        "FUNDING_PENDING",
        "REQUIRES_ACTION",
    )
    assert payment["clientSecret"].startswith(payment["paymentIntentId"] + "_secret_")
    event = {
        "id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment["paymentIntentId"], "object": "payment_intent"}},
    }  # fmt: skip
    # Announced before the payer finished: the job reads Stripe's state, which still waits.
    await _deliver(stripe_client, event)
    await run_payment_jobs(session_factory, stripe_settings)
    assert (await bounty_snapshot(session_factory, bounty_id))["status"] is S.FUNDING_PENDING
    # The payer passes 3-D Secure in the app; Stripe reports it.
    authed = await asyncio.to_thread(
        httpx.post,
        f"{stripe_url}/v1/payment_intents/{payment['paymentIntentId']}/_authenticate",
        auth=(SECRET, ""), data={"client_secret": payment["clientSecret"], "success": "true"},
    )  # fmt: skip
    authed.raise_for_status()
    await _deliver(stripe_client, {**event, "id": f"evt_{uuid.uuid4().hex}"})
    await run_payment_jobs(session_factory, stripe_settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.OPEN
    assert snapshot["payments"] == [("FUNDING", 2500)]


async def test_cancelling_an_open_bounty_refunds_the_poster(
    api: Api, session_factory: SessionFactory, stripe_url: str, stripe_settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    fresh = card(stripe_url, "4242424242424242")  # typed on the sheet, never saved
    funded = await _publish(api, poster, bounty_id, fresh)
    assert funded["bounty"]["status"] == "OPEN"
    # The paid intent's card fingerprint reaches the risk signals too.
    assert await _fingerprints(session_factory, poster) == [
        await _fingerprint_hash(stripe_url, fresh)
    ]
    variables = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "cancel"}
    cancelled = await api.run(CANCEL, {"input": variables}, poster)
    assert cancelled["bounty"]["status"] == "CANCELLED"
    assert await run_payment_jobs(session_factory, stripe_settings) == ["payments.refund"]
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["payments"] == [("FUNDING", 2500), ("REFUND", 2500), ("REFUND_SETTLED", 2500)]
    listed = await asyncio.to_thread(httpx.get, f"{stripe_url}/v1/refunds", auth=(SECRET, ""))
    refunds = listed.json()["data"]
    assert [r["amount"] for r in refunds] == [2500]  # the only refund of this localstripe


async def test_three_d_secure_failed_later_returns_to_draft_and_notifies(
    api: Api,
    session_factory: SessionFactory,
    stripe_url: str,
    stripe_client: httpx.AsyncClient,
    stripe_settings: Settings,
) -> None:
    poster, bounty_id = await _draft(session_factory)
    waiting = await _publish(api, poster, bounty_id, card(stripe_url, "4000002500003155"))
    payment = waiting["payment"]
    assert payment["status"] == "REQUIRES_ACTION"
    # The payer fails 3-D Secure in the app; Stripe reports payment_intent.payment_failed.
    authed = await asyncio.to_thread(
        httpx.post,
        f"{stripe_url}/v1/payment_intents/{payment['paymentIntentId']}/_authenticate",
        auth=(SECRET, ""), data={"client_secret": payment["clientSecret"], "success": "false"},
    )  # fmt: skip
    authed.raise_for_status()
    event = {
        "id": f"evt_{uuid.uuid4().hex}", "object": "event",
        "type": "payment_intent.payment_failed",
        "data": {"object": {"id": payment["paymentIntentId"], "object": "payment_intent"}},
    }  # fmt: skip
    await _deliver(stripe_client, event)
    await run_payment_jobs(session_factory, stripe_settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.DRAFT
    assert snapshot["payments"] == []
    async with session_factory() as session:
        queued = (
            await session.execute(
                text("SELECT payload FROM pgqueuer WHERE entrypoint = 'notifications.create'")
            )
        ).scalars()
        told = [(p["type"], p["userIds"], p["data"]["reason"]) for p in map(orjson.loads, queued)]
    assert told == [
        (
            "PAYMENT_FAILED",
            [str(poster.id)],
            "The provided PaymentMethod has failed authentication.",
        )
    ]
