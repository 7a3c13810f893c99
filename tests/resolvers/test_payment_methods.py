"""Saved payment methods over GraphQL on the sandbox: saving at once or through the sheet and
the `setup_intent.succeeded` webhook, listing, the default, removing (detached by a job),
someone else's method refused as NOT_FOUND with nothing changed, funding with a saved method,
and the card fingerprint recorded for the risk signals."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import delete, select, text
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, FingerprintKind, RiskFingerprint, Role, User
from app.settings import Settings
from services.payments import signatures
from tests.bounty_factories import PUBLISH, bounty_snapshot, insert_bounty
from tests.conftest import TEST_WEBHOOK_SECRET, GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import run_payment_jobs, sandbox

pytestmark = pytest.mark.asyncio

METHOD = "id brand last4 expMonth expYear wallet isDefault"
ADD = f"""mutation ($input: AddPaymentMethodInput) {{
  addPaymentMethod(input: $input) {{
    __typename
    ... on AddPaymentMethodSuccess {{
      setup {{ status setupIntentId clientSecret customerId ephemeralKey publishableKey failure }}
      paymentMethod {{ {METHOD} }}
    }}
    ... on UserError {{ code message field }}
  }}
}}"""
LIST = f"{{ paymentMethods {{ {METHOD} }} }}"
SET_DEFAULT = """mutation ($input: PaymentMethodInput!) {
  setDefaultPaymentMethod(input: $input) {
    __typename
    ... on SetDefaultPaymentMethodSuccess {
      paymentMethod { id isDefault } paymentMethods { id isDefault }
    }
    ... on UserError { code message field }
  }
}"""
REMOVE = """mutation ($input: PaymentMethodInput!) {
  removePaymentMethod(input: $input) {
    __typename
    ... on RemovePaymentMethodSuccess { removedId paymentMethods { id isDefault } }
    ... on UserError { code message field }
  }
}"""


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


async def _add(graphql: GraphQL, settings: Settings, user: User, **values: Any) -> dict[str, Any]:
    body = await graphql(ADD, {"input": values}, token=token_for(settings, user))
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["addPaymentMethod"]
    return result


async def _methods(graphql: GraphQL, settings: Settings, user: User) -> list[dict[str, Any]]:
    body = await graphql(LIST, token=token_for(settings, user))
    found: list[dict[str, Any]] = body["data"]["paymentMethods"]
    return found


async def _fingerprints(session_factory: SessionFactory, user: User) -> list[str]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(col(RiskFingerprint.value_hash)).where(
                col(RiskFingerprint.user_id) == user.id,
                col(RiskFingerprint.kind) == FingerprintKind.CARD,
            )
        )
        return sorted(rows)


def _card_hash(number: str) -> str:
    fingerprint = "fp_sandbox_" + hashlib.sha256(number.encode()).hexdigest()[:16]
    return hashlib.sha256(f"CARD:{fingerprint}".encode()).hexdigest()


async def _deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    raw = orjson.dumps(body)
    header = signatures.sign(raw, TEST_WEBHOOK_SECRET)
    return await client.post("/webhooks/stripe", content=raw, headers={"stripe-signature": header})


async def test_a_test_card_is_saved_at_once_listed_and_its_fingerprint_recorded(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    result = await _add(graphql, settings, user, paymentMethodId="pm_card_visa")
    assert result["__typename"] == "AddPaymentMethodSuccess"
    setup, method = result["setup"], result["paymentMethod"]
    assert setup["status"] == "SUCCEEDED"
    assert setup["failure"] is None
    assert setup["clientSecret"].startswith(setup["setupIntentId"] + "_secret_")
    assert setup["customerId"].startswith("cus_")
    assert setup["ephemeralKey"].startswith("ek_test_")
    assert setup["publishableKey"] == "pk_test_sandbox"
    assert method["id"].startswith("pm_sandbox_")
    assert {k: v for k, v in method.items() if k != "id"} == {
        "brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2034, "wallet": None,
        "isDefault": True,
    }  # fmt: skip
    assert await _methods(graphql, settings, user) == [method]
    assert await _fingerprints(session_factory, user) == [_card_hash("4242424242424242")]
    # Stripe still sends setup_intent.succeeded for a card saved at once: it changes nothing.
    [emitted] = sandbox(settings).events[-1:]
    assert emitted["data"]["object"]["payment_method"] == method["id"]
    assert (await _deliver(client, emitted)).status_code == 200
    assert await run_payment_jobs(session_factory, settings) == ["payments.webhook"]
    assert await _methods(graphql, settings, user) == [method]


async def test_the_sheet_path_saves_through_the_webhook_once(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    first = await _add(graphql, settings, user, paymentMethodId="pm_card_mastercard")
    sheet = await _add(graphql, settings, user, makeDefault=True, idempotencyKey="sheet")
    assert sheet["setup"]["status"] == "REQUIRES_ACTION"
    assert sheet["paymentMethod"] is None
    assert len(await _methods(graphql, settings, user)) == 1
    # The app saves an Apple Pay card on the sheet; Stripe tells us, many times over.
    delivered = sandbox(settings).confirm_setup(sheet["setup"]["setupIntentId"], "pm_card_applepay")
    assert delivered["type"] == "setup_intent.succeeded"
    answers = await asyncio.gather(*(_deliver(client, delivered) for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    assert await run_payment_jobs(session_factory, settings) == ["payments.webhook"]
    methods = await _methods(graphql, settings, user)
    assert [(m["brand"], m["wallet"], m["isDefault"]) for m in methods] == [
        ("visa", "apple_pay", True),  # asked to be the default
        ("mastercard", None, False),
    ]
    assert methods[1]["id"] == first["paymentMethod"]["id"]
    # The same key answers the same SetupIntent.
    again = await _add(graphql, settings, user, makeDefault=True, idempotencyKey="sheet")
    assert again["setup"]["setupIntentId"] == sheet["setup"]["setupIntentId"]


async def test_a_declined_card_is_not_saved(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    result = await _add(graphql, settings, user, paymentMethodId="pm_card_chargeDeclined")
    assert result["setup"]["status"] == "FAILED"
    assert result["setup"]["failure"] == "Your card was declined."
    assert result["paymentMethod"] is None
    assert await _methods(graphql, settings, user) == []
    assert await _fingerprints(session_factory, user) == []


async def test_default_and_removal_and_the_provider_detaches(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    token = token_for(settings, user)
    one = (await _add(graphql, settings, user, paymentMethodId="pm_card_visa"))["paymentMethod"]
    two = (await _add(graphql, settings, user, paymentMethodId="pm_card_mastercard"))[
        "paymentMethod"
    ]
    assert (one["isDefault"], two["isDefault"]) == (True, False)
    made = (await graphql(SET_DEFAULT, {"input": {"id": two["id"]}}, token=token))["data"]
    assert made["setDefaultPaymentMethod"]["paymentMethods"] == [
        {"id": two["id"], "isDefault": True},
        {"id": one["id"], "isDefault": False},
    ]
    removed = (await graphql(REMOVE, {"input": {"id": two["id"]}}, token=token))["data"]
    assert removed["removePaymentMethod"] == {
        "__typename": "RemovePaymentMethodSuccess",
        "removedId": two["id"],
        "paymentMethods": [{"id": one["id"], "isDefault": True}],  # promoted
    }
    assert await run_payment_jobs(session_factory, settings) == ["payments.detach_method"]
    assert ("detach_payment_method", two["id"]) in sandbox(settings).calls
    again = (await graphql(REMOVE, {"input": {"id": two["id"]}}, token=token))["data"]
    assert again["removePaymentMethod"]["code"] == "NOT_FOUND"


async def test_someone_elses_method_is_not_found_and_nothing_changes(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    owner = await create_user(session_factory)
    other = await create_user(session_factory)
    saved = (await _add(graphql, settings, owner, paymentMethodId="pm_card_visa"))["paymentMethod"]
    before = await _methods(graphql, settings, owner)
    token = token_for(settings, other)
    for document, name in (
        (SET_DEFAULT, "setDefaultPaymentMethod"),
        (REMOVE, "removePaymentMethod"),
    ):
        body = await graphql(document, {"input": {"id": saved["id"]}}, token=token)
        assert body["data"][name] == {
            "__typename": "NotFoundError", "code": "NOT_FOUND",
            "message": "no such payment method of yours", "field": "input.id",
        }  # fmt: skip
    # Nor can they fund with it.
    bounty_id = await insert_bounty(
        session_factory, other, status=BountyStatus.DRAFT, reward_amount=2500
    )
    variables = {
        "bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "steal",
        "paymentMethodId": saved["id"],
    }  # fmt: skip
    published = (await graphql(PUBLISH, {"input": variables}, token=token))["data"]
    assert published["publishBounty"]["code"] == "NOT_FOUND"
    assert published["publishBounty"]["field"] == "input.paymentMethodId"
    assert (await bounty_snapshot(session_factory, bounty_id))["status"] is BountyStatus.DRAFT
    assert await _methods(graphql, settings, owner) == before
    assert await _methods(graphql, settings, other) == []
    assert await run_payment_jobs(session_factory, settings) == []


async def test_a_saved_method_funds_a_bounty_and_poster_and_hunter_share_a_fingerprint(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    hunter = await create_user(session_factory)
    saved = (await _add(graphql, settings, poster, paymentMethodId="pm_card_visa"))["paymentMethod"]
    await _add(graphql, settings, hunter, paymentMethodId="pm_card_visa")  # the same card
    bounty_id = await insert_bounty(
        session_factory, poster, status=BountyStatus.DRAFT, reward_amount=2500
    )
    variables = {
        "bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "fund",
        "paymentMethodId": saved["id"],
    }  # fmt: skip
    body = await graphql(PUBLISH, {"input": variables}, token=token_for(settings, poster))
    result = body["data"]["publishBounty"]
    assert (result["bounty"]["status"], result["payment"]["status"]) == ("OPEN", "SUCCEEDED")
    assert sandbox(settings).charged(str(bounty_id)) == 2500
    shared = _card_hash("4242424242424242")
    assert await _fingerprints(session_factory, poster) == [shared]
    assert await _fingerprints(session_factory, hunter) == [shared]
    # Once the hunter works on the poster's bounty, risk sees the shared card.
    await insert_bounty(session_factory, poster, status=BountyStatus.ASSIGNED, hunter=hunter)
    admin = await create_user(session_factory, role=Role.ADMIN)
    body = await graphql(
        "query ($id: ID!) { riskAssessment(userId: $id) { signals { name value points } } }",
        {"id": global_id("User", hunter.id)},
        token=token_for(settings, admin),
    )
    signals = {s["name"]: s for s in body["data"]["riskAssessment"]["signals"]}
    assert signals["SHARED_FINGERPRINT"] == {"name": "SHARED_FINGERPRINT", "value": 1, "points": 25}


async def test_the_list_is_one_statement_whatever_its_size(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
) -> None:
    one, many = await create_user(session_factory), await create_user(session_factory)
    await _add(graphql, settings, one, paymentMethodId="pm_card_visa")
    for card in ("pm_card_visa", "pm_card_mastercard", "pm_card_googlepay", "pm_card_applepay"):
        await _add(graphql, settings, many, paymentMethodId=card)
    counts = []
    for user in (one, many):
        sql_statements.statements.clear()
        listed = await _methods(graphql, settings, user)
        counts.append(sql_statements.count)
        assert listed[0]["isDefault"]
    assert counts[0] == counts[1] == 1
    wallets = [m["wallet"] for m in await _methods(graphql, settings, many)]
    assert wallets == [None, "apple_pay", "google_pay", None]  # default, then newest first


async def test_a_deleted_account_under_a_live_token_is_unauthenticated_and_stores_nothing(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    """Within a token's life after its user row is gone (revocations reach other processes
    within a second), money mutations that make provider-side records answer UNAUTHENTICATED
    instead of failing on the missing user."""
    gone = await create_user(session_factory)
    token = token_for(settings, gone)
    async with session_factory() as session, session.begin():
        await session.execute(delete(User).where(col(User.id) == gone.id))
    for document, name in (
        ("mutation { addPaymentMethod { __typename } }", "addPaymentMethod"),
        ("mutation { payoutAccountLink { __typename } }", "payoutAccountLink"),
    ):
        body = await graphql(document, token=token)
        assert body["data"] is None, body
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            ("sign in first", "UNAUTHENTICATED")
        ], name
    async with session_factory() as session:
        for table in ("payment_customers", "payout_accounts", "payment_methods"):
            assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0  # noqa: S608
