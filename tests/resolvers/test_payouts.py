"""Payouts through the API on the sandbox provider: Connect onboarding, requestPayout (the fee's
net amount out of the wallet, typed refusals that change nothing, one winner among concurrent
requests, idempotent replays), the payout webhooks (paid, failed, duplicated, reordered), the risk
restriction, and reconciliation after a crash between phases. Ledger invariants after each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlmodel import col
from strawberry import relay

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, OperationStatus, PaymentOperation, Role, User
from app.settings import Settings
from services.payments import payouts, signatures
from services.payments.connect_provider import ProviderRefused
from services.payments.interface import payments_for
from services.payments.provider import ProviderUnavailable
from services.payments.reconcile import reconcile
from services.payments.sandbox_connect import transfer_event
from tests.app.monitoring.helpers import value
from tests.bounty_factories import APPROVE, insert_bounty
from tests.conftest import TEST_WEBHOOK_SECRET, GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import run_payment_jobs, sandbox

pytestmark = pytest.mark.asyncio

ACCOUNT = "{ payoutAccount { status payoutsEnabled detailsSubmitted requirementsDue } }"
LINK = """mutation { payoutAccountLink {
  __typename
  ... on PayoutAccountLinkSuccess {
    url expiresAt account { status payoutsEnabled detailsSubmitted requirementsDue }
  }
  ... on UserError { code message }
} }"""
PAYOUT = """mutation ($input: RequestPayoutInput!) { requestPayout(input: $input) {
  __typename
  ... on RequestPayoutSuccess {
    payout { id status amount currency failure createdAt }
    wallet { currency available pending }
  }
  ... on UserError { code message field }
} }"""
WALLET = '{ wallet(currency: "EUR") { available pending } }'
HISTORY = "{ transactions { edges { node { type amount fee } } } }"
RISK_ACTION = """mutation ($input: TakeRiskActionInput!) {
  takeRiskAction(input: $input) { __typename }
}"""


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


async def _hunter_with_wallet(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> tuple[User, str]:
    """A hunter whose wallet holds 4,500 EUR minor units (a 5,000 reward less the 10 % fee)."""
    poster, hunter = await create_user(session_factory), await create_user(session_factory)
    bounty_id = await insert_bounty(
        session_factory, poster, status=BountyStatus.SUBMITTED, hunter=hunter,
        reward_amount=5_000, reward_currency="EUR",
    )  # fmt: skip
    approved = await graphql(
        APPROVE,
        {"input": {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "approve"}},
        token=token_for(settings, poster),
    )
    assert approved["data"]["approveCompletion"]["__typename"] == "BountySuccess"
    return hunter, token_for(settings, hunter)


async def _onboard(graphql: GraphQL, token: str) -> dict[str, Any]:
    linked: dict[str, Any] = (await graphql(LINK, token=token))["data"]["payoutAccountLink"]
    assert linked["__typename"] == "PayoutAccountLinkSuccess", linked
    return linked


async def _payout(graphql: GraphQL, token: str, amount: int, key: str, **extra: Any) -> Any:
    variables = {"amount": amount, "currency": "EUR", "idempotencyKey": key, **extra}
    body = await graphql(PAYOUT, {"input": variables}, token=token)
    assert "errors" not in body, body
    return body["data"]["requestPayout"]


async def _deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    raw = orjson.dumps(body)
    header = signatures.sign(raw, TEST_WEBHOOK_SECRET)
    return await client.post("/webhooks/stripe", content=raw, headers={"stripe-signature": header})


async def _money_state(session_factory: SessionFactory, user: User) -> dict[str, Any]:
    """What a refused request must leave alone: the user's postings and payout operations."""
    async with session_factory() as session:
        postings = (
            await session.execute(
                text(
                    "SELECT p.kind, e.amount FROM ledger_entries e "
                    "JOIN ledger_postings p ON p.id = e.posting_id "
                    "JOIN ledger_accounts a ON a.id = e.account_id "
                    "WHERE a.owner_id = :user ORDER BY e.id"
                ),
                {"user": user.id},
            )
        ).all()
        operations = (
            await session.execute(
                select(col(PaymentOperation.status), col(PaymentOperation.amount)).where(
                    col(PaymentOperation.user_id) == user.id
                )
            )
        ).all()
    return {"postings": [tuple(p) for p in postings], "operations": [tuple(o) for o in operations]}


def _operation_id(answer: dict[str, Any]) -> uuid.UUID:
    """The payment operation behind a payout's global id (`Payout:<operation uuid>`)."""
    type_name, raw = relay.from_base64(answer["payout"]["id"])
    assert type_name == "Payout"
    return uuid.UUID(raw)


def _counted(status: str) -> float:
    return value("bountyexpo_payments_total", type="payout", status=status, currency="EUR")


async def test_onboarding_a_payout_and_the_paid_webhook(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    assert (await graphql(ACCOUNT, token=token))["data"]["payoutAccount"] == {
        "status": "NOT_STARTED", "payoutsEnabled": False, "detailsSubmitted": False,
        "requirementsDue": [],
    }  # fmt: skip
    linked = await _onboard(graphql, token)
    assert linked["url"].startswith("https://connect.sandbox.invalid/setup/e/acct_sandbox_")
    assert linked["account"] == {
        "status": "ENABLED", "payoutsEnabled": True, "detailsSubmitted": True,
        "requirementsDue": [],
    }  # fmt: skip
    assert (await graphql(ACCOUNT, token=token))["data"]["payoutAccount"] == linked["account"]
    again = await _onboard(graphql, token)  # a second link: the same account
    provider = sandbox(settings)
    account_id = linked["url"].split("/")[-2]
    assert again["url"].split("/")[-2] == account_id
    pending, paid = _counted("pending"), _counted("succeeded")

    first = await _payout(graphql, token, 4_500, "p1")
    assert first["__typename"] == "RequestPayoutSuccess", first
    assert {k: first["payout"][k] for k in ("status", "amount", "currency", "failure")} == {
        "status": "IN_TRANSIT", "amount": 4_500, "currency": "EUR", "failure": None,
    }  # fmt: skip
    assert first["wallet"] == {"currency": "EUR", "available": 0, "pending": 4_500}
    assert first["payout"]["id"] == global_id("Payout", _operation_id(first))  # a relay id
    operation_id = str(_operation_id(first))
    [transfer] = [t for t in provider.transfers.values() if t.destination == account_id]
    [payout] = [p for p in provider.payouts.values() if p.account_id == account_id]
    assert (transfer.amount, payout.amount, payout.status) == (4_500, 4_500, "pending")
    assert ("create_transfer", f"payout-transfer:{operation_id}") in provider.calls
    assert ("create_payout", f"payout:{operation_id}") in provider.calls
    assert _counted("pending") == pending + 1
    history = (await graphql(HISTORY, token=token))["data"]["transactions"]["edges"]
    assert [e["node"] for e in history] == [
        {"type": "PAYOUT", "amount": -4_500, "fee": None},
        {"type": "RELEASED", "amount": 4_500, "fee": 500},
    ]

    # The bank pays; Stripe says so, twice.
    event = provider.settle_payout(payout.id, "paid")
    answers = [await _deliver(client, event) for _ in range(2)]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    assert await run_payment_jobs(session_factory, settings) == ["payments.webhook"]
    assert (await graphql(WALLET, token=token))["data"]["wallet"] == {
        "available": 0, "pending": 0,
    }  # fmt: skip
    assert provider.paid_out(account_id) == 4_500
    assert _counted("succeeded") == paid + 1
    async with session_factory() as session:
        queued = (
            await session.execute(
                text("SELECT payload FROM pgqueuer WHERE entrypoint = 'notifications.create'")
            )
        ).all()
    assert [orjson.loads(row[0]) for row in queued] == [
        {"userIds": [str(hunter.id)], "type": "PAYOUT_PAID", "subject": "45.00 EUR",
         "data": {"payoutId": operation_id}},
    ]  # fmt: skip
    assert (await _money_state(session_factory, hunter))["postings"] == [
        ("RELEASE", 4_500), ("PAYOUT", -4_500), ("PAYOUT", 4_500), ("PAYOUT_PAID", -4_500),
    ]  # fmt: skip

    # The same key and input: the first answer as it was; other input: refused.
    assert await _payout(graphql, token, 4_500, "p1") == first
    reused = await _payout(graphql, token, 4_000, "p1")
    assert (reused["__typename"], reused["code"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
    )


async def test_refusals_are_typed_and_change_nothing(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    before = await _money_state(session_factory, hunter)
    not_ready = await _payout(graphql, token, 2_000, "k")
    assert (not_ready["__typename"], not_ready["code"]) == (
        "PayoutAccountNotReadyError",
        "PAYOUT_ACCOUNT_NOT_READY",
    )
    linked = await _onboard(graphql, token)
    below = await _payout(graphql, token, 999, "k")
    assert (below["__typename"], below["code"], below["field"]) == (
        "PayoutBelowMinimumError", "PAYOUT_BELOW_MINIMUM", "input.amount",
    )  # fmt: skip
    too_much = await _payout(graphql, token, 4_501, "k")
    assert (too_much["__typename"], too_much["code"]) == (
        "InsufficientFundsError",
        "INSUFFICIENT_FUNDS",
    )
    bad = await _payout(graphql, token, 2_000, "k", currency="euro")
    assert (bad["code"], bad["field"]) == ("INVALID_INPUT", "input.currency")
    assert await _money_state(session_factory, hunter) == before

    # Stripe restricts the account (a requirement past due): payouts stop until it is met.
    provider = sandbox(settings)
    restricted = provider.restrict(linked["url"].split("/")[-2])
    assert (await _deliver(client, restricted)).status_code == 200
    await run_payment_jobs(session_factory, settings)
    assert (await graphql(ACCOUNT, token=token))["data"]["payoutAccount"] == {
        "status": "RESTRICTED", "payoutsEnabled": False, "detailsSubmitted": True,
        "requirementsDue": ["individual.verification.document"],
    }  # fmt: skip
    refused = await _payout(graphql, token, 2_000, "k")
    assert refused["code"] == "PAYOUT_ACCOUNT_NOT_READY"
    assert await _money_state(session_factory, hunter) == before
    # A failed attempt kept no key: the same key now works once the account is fixed.
    await _onboard(graphql, token)
    assert (await _payout(graphql, token, 2_000, "k"))["payout"]["status"] == "IN_TRANSIT"


async def test_twenty_concurrent_payouts_of_the_whole_balance_one_succeeds(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    account_id = (await _onboard(graphql, token))["url"].split("/")[-2]
    outcomes = await asyncio.gather(
        *(_payout(graphql, token, 4_500, f"race-{i}") for i in range(20))
    )
    assert sum(o["__typename"] == "RequestPayoutSuccess" for o in outcomes) == 1
    assert sorted({o.get("code") for o in outcomes} - {None}) == ["INSUFFICIENT_FUNDS"]
    assert (await graphql(WALLET, token=token))["data"]["wallet"] == {
        "available": 0, "pending": 4_500,
    }  # fmt: skip
    provider = sandbox(settings)
    assert len([t for t in provider.transfers.values() if t.destination == account_id]) == 1
    assert len([p for p in provider.payouts.values() if p.account_id == account_id]) == 1
    assert len((await _money_state(session_factory, hunter))["operations"]) == 1


async def test_one_key_ten_concurrent_requests_one_payout_identical_answers(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    account_id = (await _onboard(graphql, token))["url"].split("/")[-2]
    answers = await asyncio.gather(*(_payout(graphql, token, 3_000, "same") for _ in range(10)))
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0]["wallet"] == {"currency": "EUR", "available": 1_500, "pending": 3_000}
    provider = sandbox(settings)
    assert len([p for p in provider.payouts.values() if p.account_id == account_id]) == 1


async def test_a_failed_payout_returns_the_money_whatever_the_order_of_events(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    account_id = (await _onboard(graphql, token))["url"].split("/")[-2]
    failed_count = _counted("failed")
    first = await _payout(graphql, token, 4_500, "p1")
    provider = sandbox(settings)
    [payout] = [p for p in provider.payouts.values() if p.account_id == account_id]
    in_transit = dict(
        provider.settle_payout(payout.id, "in_transit"), id="evt_transit", type="payout.updated"
    )
    failed = provider.settle_payout(payout.id, "failed")
    stale_paid = dict(failed, id="evt_stale_paid", type="payout.paid")  # out of date: failed now
    for event in (failed, stale_paid, in_transit, failed):  # reordered and repeated
        assert (await _deliver(client, event)).status_code == 200
    assert await run_payment_jobs(session_factory, settings) == ["payments.webhook"] * 3
    assert (await graphql(WALLET, token=token))["data"]["wallet"] == {
        "available": 4_500, "pending": 0,
    }  # fmt: skip
    [transfer] = [t for t in provider.transfers.values() if t.destination == account_id]
    assert transfer.reversed
    assert provider.connected_balances[(account_id, "EUR")] == 0
    assert _counted("failed") == failed_count + 1
    history = (await graphql(HISTORY, token=token))["data"]["transactions"]["edges"]
    assert [(e["node"]["type"], e["node"]["amount"]) for e in history] == [
        ("PAYOUT_RETURNED", 4_500), ("PAYOUT", -4_500), ("RELEASED", 4_500),
    ]  # fmt: skip
    async with session_factory() as session:
        operation = await session.get(PaymentOperation, _operation_id(first))
    assert operation is not None
    assert (operation.status, operation.failure_reason) == (
        OperationStatus.FAILED,
        "The bank account details on file are probably incorrect.",
    )
    # The money is the hunter's again: a new payout takes it.
    assert (await _payout(graphql, token, 4_500, "p2"))["__typename"] == "RequestPayoutSuccess"


async def test_restricted_payouts_are_refused_until_cleared(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    await _onboard(graphql, token)
    admin = token_for(settings, await create_user(session_factory, role=Role.ADMIN))

    async def act(action: str) -> None:
        variables = {"userId": global_id("User", hunter.id), "action": action, "reason": "review"}
        body = await graphql(RISK_ACTION, {"input": variables}, token=admin)
        assert body["data"]["takeRiskAction"]["__typename"] == "TakeRiskActionSuccess", body

    await act("RESTRICT_PAYOUTS")
    before = await _money_state(session_factory, hunter)
    refused = await _payout(graphql, token, 2_000, "r1")
    assert (refused["__typename"], refused["code"]) == (
        "PayoutsRestrictedError",
        "PAYOUTS_RESTRICTED",
    )
    assert await _money_state(session_factory, hunter) == before
    await act("CLEAR")
    assert (await _payout(graphql, token, 2_000, "r1"))["payout"]["status"] == "IN_TRANSIT"
    # A suspended hunter's sessions end: no payout request gets through at all.
    await act("SUSPEND")
    before = await _money_state(session_factory, hunter)
    body = await graphql(
        PAYOUT,
        {"input": {"amount": 2_000, "currency": "EUR", "idempotencyKey": "r2"}},
        token=token,
        status=401,
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert await _money_state(session_factory, hunter) == before


class _Quiet:
    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        return None


async def test_a_crash_between_phases_is_finished_by_reconciliation(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    account_id = (await _onboard(graphql, token))["url"].split("/")[-2]
    record = payouts.apply_payout

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("the process died before recording the answer")

    monkeypatch.setattr(payouts, "apply_payout", crash)
    body = await graphql(
        PAYOUT,
        {"input": {"amount": 4_500, "currency": "EUR", "idempotencyKey": "crash"}},
        token=token,
    )
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    provider = sandbox(settings)
    assert len([p for p in provider.payouts.values() if p.account_id == account_id]) == 1
    assert (await graphql(WALLET, token=token))["data"]["wallet"] == {
        "available": 0, "pending": 4_500,
    }  # fmt: skip
    monkeypatch.setattr(payouts, "apply_payout", record)
    payments = payments_for(settings)
    assert await reconcile(session_factory, _Quiet(), payments, older_than_seconds=0) == 0
    [payout] = [p for p in provider.payouts.values() if p.account_id == account_id]
    assert len([t for t in provider.transfers.values() if t.destination == account_id]) == 1
    # The client's retry with its key gets the payout in transit, once.
    again = await _payout(graphql, token, 4_500, "crash")
    assert (again["payout"]["status"], again["wallet"]["pending"]) == ("IN_TRANSIT", 4_500)
    # No webhook reaches us: reconciliation asks the provider and finishes it.
    provider.settle_payout(payout.id, "paid")
    assert await reconcile(session_factory, _Quiet(), payments, older_than_seconds=0) == 1
    assert (await graphql(WALLET, token=token))["data"]["wallet"] == {
        "available": 0, "pending": 0,
    }  # fmt: skip
    assert provider.paid_out(account_id) == 4_500


async def test_a_payout_the_provider_refuses_reverses_the_transfer_and_returns_the_money(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    account_id = (await _onboard(graphql, token))["url"].split("/")[-2]
    provider = sandbox(settings)

    async def refuse(**kwargs: Any) -> Any:
        raise ProviderRefused("The bank account cannot receive payouts in EUR.")

    monkeypatch.setattr(provider, "create_payout", refuse)
    refused = await _payout(graphql, token, 3_000, "refused")
    assert refused["__typename"] == "RequestPayoutSuccess"
    assert (refused["payout"]["status"], refused["payout"]["failure"]) == (
        "FAILED",
        "The bank account cannot receive payouts in EUR.",
    )
    assert refused["wallet"] == {"currency": "EUR", "available": 4_500, "pending": 0}
    [transfer] = [t for t in provider.transfers.values() if t.destination == account_id]
    assert transfer.reversed
    assert provider.connected_balances[(account_id, "EUR")] == 0
    history = (await graphql(HISTORY, token=token))["data"]["transactions"]["edges"]
    assert [(e["node"]["type"], e["node"]["amount"]) for e in history] == [
        ("PAYOUT_RETURNED", 3_000), ("PAYOUT", -3_000), ("RELEASED", 4_500),
    ]  # fmt: skip


async def test_an_unanswered_provider_leaves_the_payout_requested_until_a_retry(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    account_id = (await _onboard(graphql, token))["url"].split("/")[-2]
    provider = sandbox(settings)
    create_transfer = provider.create_transfer

    async def unreachable(**kwargs: Any) -> Any:
        raise ProviderUnavailable("connection refused")

    monkeypatch.setattr(provider, "create_transfer", unreachable)
    waiting = await _payout(graphql, token, 3_000, "later")
    assert waiting["payout"]["status"] == "REQUESTED"
    assert waiting["wallet"] == {"currency": "EUR", "available": 1_500, "pending": 3_000}
    monkeypatch.setattr(provider, "create_transfer", create_transfer)
    # Nothing was stored under the key: the retry re-drives the same operation.
    again = await _payout(graphql, token, 3_000, "later")
    assert (again["payout"]["id"], again["payout"]["status"]) == (
        waiting["payout"]["id"],
        "IN_TRANSIT",
    )
    assert len([p for p in provider.payouts.values() if p.account_id == account_id]) == 1
    assert await _payout(graphql, token, 3_000, "later") == again


async def test_a_reversed_transfer_fails_the_open_payout_once(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    account_id = (await _onboard(graphql, token))["url"].split("/")[-2]
    provider = sandbox(settings)
    create_payout = provider.create_payout

    async def unreachable(**kwargs: Any) -> Any:
        raise ProviderUnavailable("timed out")

    # The transfer is made, the payout call gets no answer; staff reverse the transfer at Stripe.
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(provider, "create_payout", unreachable)
    await _payout(graphql, token, 4_500, "t1")
    monkeypatch.undo()
    assert provider.create_payout == create_payout
    [transfer] = [t for t in provider.transfers.values() if t.destination == account_id]
    created = transfer_event("transfer.created", transfer)
    await provider.reverse_transfer(transfer.id, idempotency_key="staff")
    reversed_ = transfer_event("transfer.reversed", provider.transfers[transfer.id])
    for event in (reversed_, created, reversed_):
        assert (await _deliver(client, event)).status_code == 200
    assert await run_payment_jobs(session_factory, settings) == ["payments.webhook"] * 2
    assert (await graphql(WALLET, token=token))["data"]["wallet"] == {
        "available": 4_500, "pending": 0,
    }  # fmt: skip
    # Reconciliation finds nothing left to do: the payout is final.
    payments = payments_for(settings)
    assert await reconcile(session_factory, _Quiet(), payments, older_than_seconds=0) == 0
    assert [p for p in provider.payouts.values() if p.account_id == account_id] == []


async def test_reconciliation_asks_about_each_payout_in_transit_in_turn(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    await _onboard(graphql, token)
    made = await _payout(graphql, token, 2_000, "turn")
    operation_id = _operation_id(made)

    async def touched() -> Any:
        async with session_factory() as session:
            return await session.scalar(
                select(col(PaymentOperation.updated_at)).where(
                    col(PaymentOperation.id) == operation_id
                )
            )

    before = await touched()
    payments = payments_for(settings)
    assert await reconcile(session_factory, _Quiet(), payments, older_than_seconds=0) == 0
    # Still in transit, and now the most recently asked: the others' turn comes first.
    assert await touched() > before
    assert (await graphql(WALLET, token=token))["data"]["wallet"] == {
        "available": 2_500, "pending": 2_000,
    }  # fmt: skip


async def test_concurrent_first_onboarding_links_make_one_account(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    hunter = await create_user(session_factory)
    token = token_for(settings, hunter)
    links = await asyncio.gather(*(_onboard(graphql, token) for _ in range(5)))
    assert len({link["url"].split("/")[-2] for link in links}) == 1
    async with session_factory() as session:
        rows = (
            await session.execute(
                text("SELECT account_id FROM payout_accounts WHERE user_id = :u"), {"u": hunter.id}
            )
        ).all()
    assert [row[0] for row in rows] == [links[0]["url"].split("/")[-2]]
    made = [
        c
        for c in sandbox(settings).calls
        if c == ("create_account", f"connect-account:{hunter.id}")
    ]
    assert 1 <= len(made) <= 5  # each racing request asked with the same key: one account


PAYOUTS = """query ($first: Int, $after: String) { payouts(first: $first, after: $after) {
  edges { node { id status amount failure } } pageInfo { hasNextPage endCursor } } }"""


async def test_the_payout_list_shows_where_each_stands_one_statement_a_page(
    graphql: GraphQL,
    client: httpx.AsyncClient,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
) -> None:
    _hunter, token = await _hunter_with_wallet(graphql, session_factory, settings)
    await _onboard(graphql, token)
    first = await _payout(graphql, token, 1_500, "l1")
    second = await _payout(graphql, token, 2_000, "l2")
    provider = sandbox(settings)
    by_id = {p.metadata["operation_id"]: p for p in provider.payouts.values()}
    await _deliver(client, provider.settle_payout(by_id[str(_operation_id(first))].id, "paid"))
    await _deliver(client, provider.settle_payout(by_id[str(_operation_id(second))].id, "failed"))
    await run_payment_jobs(session_factory, settings)
    counts, seen, after = [], [], None
    for size in (1, 10):
        sql_statements.statements.clear()
        page = (await graphql(PAYOUTS, {"first": size, "after": after}, token=token))["data"]
        counts.append(sql_statements.count)
        seen += [e["node"] for e in page["payouts"]["edges"]]
        after = page["payouts"]["pageInfo"]["endCursor"]
        assert page["payouts"]["pageInfo"]["hasNextPage"] is (size == 1)
    assert counts[0] == counts[1]
    assert seen == [
        {"id": second["payout"]["id"], "status": "FAILED", "amount": 2_000,
         "failure": "The bank account details on file are probably incorrect."},
        {"id": first["payout"]["id"], "status": "PAID", "amount": 1_500, "failure": None},
    ]  # fmt: skip
    stranger = token_for(settings, await create_user(session_factory))
    assert (await graphql(PAYOUTS, token=stranger))["data"]["payouts"]["edges"] == []
    bad = await graphql(PAYOUTS, {"after": "bm90LWEtY3Vyc29y"}, token=token)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


NODE = """query ($id: ID!) { node(id: $id) {
  __typename ... on Payout { id status amount currency failure }
} }"""
LISTED_IDS = "{ payouts { edges { node { id } } } }"


async def test_a_payout_is_a_node_its_owner_alone_finds(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    _, token = await _hunter_with_wallet(graphql, session_factory, settings)
    await _onboard(graphql, token)
    made = await _payout(graphql, token, 4_500, "node")
    payout_id = made["payout"]["id"]
    assert payout_id == global_id("Payout", _operation_id(made))
    listed = (await graphql(LISTED_IDS, token=token))["data"]["payouts"]["edges"]
    assert [edge["node"]["id"] for edge in listed] == [payout_id]  # the same id everywhere
    found = (await graphql(NODE, {"id": payout_id}, token=token))["data"]["node"]
    assert found == {
        "__typename": "Payout", "id": payout_id, "status": "IN_TRANSIT", "amount": 4_500,
        "currency": "EUR", "failure": None,
    }  # fmt: skip
    other = token_for(settings, await create_user(session_factory))
    admin = token_for(settings, await create_user(session_factory, role=Role.ADMIN))
    for viewer in (other, admin, None):  # nobody else, not even staff or the anonymous
        assert (await graphql(NODE, {"id": payout_id}, token=viewer))["data"]["node"] is None
    # A bounty's id with the Payout type, or a malformed one, is null as an unknown id is.
    for wrong in (global_id("Payout", uuid.uuid4()), global_id("Payout", "not-a-uuid")):
        assert (await graphql(NODE, {"id": wrong}, token=token))["data"]["node"] is None
