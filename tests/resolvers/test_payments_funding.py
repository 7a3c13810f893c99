"""Publishing funds the reward: FUNDING_PENDING, a PaymentIntent, then OPEN once the payment
succeeds (synchronous confirmation or webhook, whichever first, applied once), back to DRAFT
when it fails; cancelling while FUNDING_PENDING cancels the intent. Through the real app, on the
sandbox provider, with the ledger's invariants checked after each test."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, OperationStatus, PaymentOperation, User, WebhookEvent
from app.settings import Settings
from services.payments import charges, ledger, signatures
from services.payments.interface import payments_for
from services.payments.provider import IntentStatus
from services.payments.reconcile import reconcile
from services.payments.sandbox import event
from tests.app.monitoring.helpers import value
from tests.bounty_factories import CANCEL, PUBLISH, TEST_CARD, bounty_snapshot, insert_bounty
from tests.conftest import TEST_WEBHOOK_SECRET, GraphQL
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import run_payment_jobs, sandbox

pytestmark = pytest.mark.asyncio
S = BountyStatus


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


async def _draft(session_factory: SessionFactory) -> tuple[User, uuid.UUID]:
    poster = await create_user(session_factory)
    return poster, await insert_bounty(session_factory, poster, status=S.DRAFT, reward_amount=2500)


async def _publish(
    graphql: GraphQL, settings: Settings, poster: User, bounty_id: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    variables = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "pub", **extra}
    body = await graphql(PUBLISH, {"input": variables}, token=token_for(settings, poster))
    result: dict[str, Any] = body["data"]["publishBounty"]
    return result


def _payments_counted(status: str) -> float:
    return value("bountyexpo_payments_total", type="charge", status=status, currency="USD")


async def _held(session_factory: SessionFactory, bounty_id: uuid.UUID) -> int:
    async with session_factory() as session:
        return await ledger.balance(session, ledger.held(bounty_id, "USD"))


async def _deliver(client: httpx.AsyncClient, body: dict[str, Any], **sign: Any) -> httpx.Response:
    raw = orjson.dumps(body)
    header = signatures.sign(raw, sign.pop("secret", TEST_WEBHOOK_SECRET), **sign)
    return await client.post("/webhooks/stripe", content=raw, headers={"stripe-signature": header})


async def test_a_saved_card_funds_and_opens_at_once(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    result = await _publish(graphql, settings, poster, bounty_id, paymentMethodId=TEST_CARD)
    assert result["__typename"] == "PublishBountySuccess"
    assert result["bounty"]["status"] == "OPEN"
    assert result["payment"]["status"] == "SUCCEEDED"
    assert await _held(session_factory, bounty_id) == 2500
    assert sandbox(settings).charged(str(bounty_id)) == 2500
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["payments"] == [("FUNDING", 2500)]
    assert [h[1] for h in snapshot["history"]] == [S.FUNDING_PENDING, S.OPEN]


async def test_the_payment_sheet_gets_what_it_needs_and_the_webhook_opens_the_bounty_once(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    variables = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "sheet"}
    document = PUBLISH.replace(
        "payment { status failure paymentIntentId }",
        "payment { status failure paymentIntentId clientSecret customerId ephemeralKey "
        "publishableKey }",
    )
    body = await graphql(document, {"input": variables}, token=token_for(settings, poster))
    result = body["data"]["publishBounty"]
    payment = result["payment"]
    assert result["bounty"]["status"] == "FUNDING_PENDING"
    assert payment["status"] == "REQUIRES_ACTION"
    assert payment["clientSecret"].startswith(payment["paymentIntentId"] + "_secret_")
    assert payment["customerId"].startswith("cus_")
    assert payment["ephemeralKey"].startswith("ek_test_")
    assert payment["publishableKey"] == "pk_test_sandbox"
    assert await _held(session_factory, bounty_id) == 0
    # The app confirms on the PaymentSheet; Stripe tells us by webhook, many times over.
    delivered = sandbox(settings).complete(payment["paymentIntentId"])
    answers = await asyncio.gather(*(_deliver(client, delivered) for _ in range(50)))
    assert sorted(a.status_code for a in answers) == [200] * 50
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert await run_payment_jobs(session_factory, settings) == ["payments.webhook"]
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.OPEN
    assert snapshot["payments"] == [("FUNDING", 2500)]
    # Replaying the publish returns the first answer as it was stored.
    again = await graphql(document, {"input": variables}, token=token_for(settings, poster))
    assert again["data"]["publishBounty"]["payment"] == payment
    assert again["data"]["publishBounty"]["bounty"]["status"] == "OPEN"


async def test_a_declined_card_returns_the_bounty_to_draft_and_cancels_the_intent(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    failed = _payments_counted("failed")
    result = await _publish(
        graphql, settings, poster, bounty_id, paymentMethodId="pm_card_chargeDeclined"
    )
    # What the PaymentFailures alert watches moves with the real decline.
    assert _payments_counted("failed") == failed + 1
    assert result["bounty"]["status"] == "DRAFT"
    assert result["payment"]["status"] == "FAILED"
    assert result["payment"]["failure"] == "Your card was declined."
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["payments"] == []
    assert [h[1] for h in snapshot["history"]] == [S.FUNDING_PENDING, S.DRAFT]
    assert await run_payment_jobs(session_factory, settings) == ["payments.cancel_intent"]
    [intent] = sandbox(settings).intents_for(str(bounty_id))
    assert intent.status is IntentStatus.CANCELED
    # Another card, another key: funded.
    retry = await _publish(
        graphql, settings, poster, bounty_id, paymentMethodId=TEST_CARD, idempotencyKey="pub-2"
    )
    assert (retry["bounty"]["status"], retry["payment"]["status"]) == ("OPEN", "SUCCEEDED")
    assert sandbox(settings).charged(str(bounty_id)) == 2500


async def test_three_d_secure_waits_for_the_customer(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    result = await _publish(
        graphql, settings, poster, bounty_id, paymentMethodId="pm_card_authenticationRequired"
    )
    assert (result["bounty"]["status"], result["payment"]["status"]) == (
        "FUNDING_PENDING",
        "REQUIRES_ACTION",
    )
    completed = sandbox(settings).complete(result["payment"]["paymentIntentId"])
    assert (await _deliver(client, completed)).status_code == 200
    await run_payment_jobs(session_factory, settings)
    assert (await bounty_snapshot(session_factory, bounty_id))["status"] is S.OPEN


async def test_bad_or_stale_signatures_are_refused_and_store_nothing(
    client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    intent = next(iter(sandbox(settings).intents.values()), None)
    body = {"id": "evt_refused", "type": "payment_intent.succeeded", "data": {"object": {}}}
    if intent is not None:
        body = event("payment_intent.succeeded", intent) | {"id": "evt_refused"}
    forged = await _deliver(client, body, secret="whsec_someone_else")
    stale = await _deliver(client, body, timestamp=int(time.time()) - 301)
    unsigned = await client.post("/webhooks/stripe", content=orjson.dumps(body))
    assert [r.status_code for r in (forged, stale, unsigned)] == [400, 400, 400]
    assert stale.json() == {"error": "the signature's timestamp is outside the tolerance"}
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


async def test_reordered_events_converge_on_the_provider_state(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    result = await _publish(graphql, settings, poster, bounty_id)
    intent_id = result["payment"]["paymentIntentId"]
    provider = sandbox(settings)
    failed = provider.complete(intent_id, "pm_card_chargeDeclined")  # the first try failed
    succeeded = provider.complete(intent_id, TEST_CARD)  # the second succeeded
    for delivered in (succeeded, failed, succeeded):  # late, out of order, repeated
        assert (await _deliver(client, delivered)).status_code == 200
    await run_payment_jobs(session_factory, settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.OPEN
    assert snapshot["payments"] == [("FUNDING", 2500)]


async def test_cancelling_while_funding_pending_cancels_the_intent(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    await _publish(graphql, settings, poster, bounty_id)
    cancel = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "cancel"}
    done = await graphql(CANCEL, {"input": cancel}, token=token_for(settings, poster))
    assert done["data"]["cancelBounty"]["bounty"]["status"] == "CANCELLED"
    assert await run_payment_jobs(session_factory, settings) == ["payments.cancel_intent"]
    [intent] = sandbox(settings).intents_for(str(bounty_id))
    assert intent.status is IntentStatus.CANCELED
    async with session_factory() as session:
        status = await session.scalar(
            select(col(PaymentOperation.status)).where(col(PaymentOperation.bounty_id) == bounty_id)
        )
    assert status is OperationStatus.CANCELED
    assert (await bounty_snapshot(session_factory, bounty_id))["payments"] == []


async def test_a_payment_that_succeeds_after_cancelling_is_refunded(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    result = await _publish(graphql, settings, poster, bounty_id)
    cancel = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "cancel"}
    await graphql(CANCEL, {"input": cancel}, token=token_for(settings, poster))
    sandbox(settings).complete(result["payment"]["paymentIntentId"])  # paid before the cancel
    assert await run_payment_jobs(session_factory, settings) == [
        "payments.cancel_intent",
        "payments.refund",
    ]
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.CANCELLED
    assert snapshot["payments"] == [("FUNDING", 2500), ("REFUND", 2500), ("REFUND_SETTLED", 2500)]
    assert sandbox(settings).charged(str(bounty_id)) == 0


async def test_one_key_ten_concurrent_requests_one_charge_identical_answers(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    answers = await asyncio.gather(
        *(
            _publish(graphql, settings, poster, bounty_id, paymentMethodId=TEST_CARD)
            for _ in range(10)
        )
    )
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0]["payment"]["status"] == "SUCCEEDED"
    assert len(sandbox(settings).intents_for(str(bounty_id))) == 1
    assert sandbox(settings).charged(str(bounty_id)) == 2500
    assert (await bounty_snapshot(session_factory, bounty_id))["payments"] == [("FUNDING", 2500)]


async def test_a_crash_after_the_provider_answered_is_finished_by_reconciliation(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poster, bounty_id = await _draft(session_factory)
    record = charges.apply_intent

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("the process died before recording the answer")

    monkeypatch.setattr(charges, "apply_intent", crash)
    body = await graphql(
        PUBLISH,
        {"input": {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "pub",
                   "paymentMethodId": TEST_CARD}},
        token=token_for(settings, poster),
    )  # fmt: skip
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert sandbox(settings).charged(str(bounty_id)) == 2500  # the provider did charge
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert (snapshot["status"], snapshot["payments"]) == (S.FUNDING_PENDING, [])
    monkeypatch.setattr(charges, "apply_intent", record)
    finished = await reconcile(
        session_factory, _Quiet(), payments_for(settings), older_than_seconds=0
    )
    assert finished == 1
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert (snapshot["status"], snapshot["payments"]) == (S.OPEN, [("FUNDING", 2500)])
    assert len(sandbox(settings).intents_for(str(bounty_id))) == 1
    assert sandbox(settings).charged(str(bounty_id)) == 2500
    # The client's retry with its key gets the finished payment.
    again = await _publish(graphql, settings, poster, bounty_id, paymentMethodId=TEST_CARD)
    assert (again["bounty"]["status"], again["payment"]["status"]) == ("OPEN", "SUCCEEDED")


class _Quiet:
    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        return None


async def test_a_second_payment_that_lands_late_is_refunded_and_the_first_kept(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, bounty_id = await _draft(session_factory)
    provider = sandbox(settings)
    first = await _publish(graphql, settings, poster, bounty_id)  # the PaymentSheet opens
    declined = provider.complete(first["payment"]["paymentIntentId"], "pm_card_chargeDeclined")
    await _deliver(client, declined)
    assert await run_payment_jobs(session_factory, settings) == [
        "payments.webhook",
        "payments.cancel_intent",
    ]
    # Back in DRAFT, the poster pays with another card; then the first sheet's retry, which
    # the cancellation did not reach in time, succeeds too.
    again = await _publish(
        graphql, settings, poster, bounty_id, paymentMethodId=TEST_CARD, idempotencyKey="pub-2"
    )
    assert again["bounty"]["status"] == "OPEN"
    intent = provider.intents[first["payment"]["paymentIntentId"]]
    provider.intents[intent.id] = dataclasses.replace(intent, status=IntentStatus.SUCCEEDED)
    late = event("payment_intent.succeeded", provider.intents[intent.id])
    await _deliver(client, late)
    assert await run_payment_jobs(session_factory, settings) == [
        "payments.webhook",
        "payments.refund",
    ]
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.OPEN
    assert snapshot["payments"] == [
        ("FUNDING", 2500),
        ("FUNDING", 2500),
        ("REFUND", 2500),
        ("REFUND_SETTLED", 2500),
    ]
    assert await _held(session_factory, bounty_id) == 2500
    assert provider.charged(str(bounty_id)) == 2500
    # Cancelling now refunds the charge that is still held, not the one already returned.
    cancel = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "cancel"}
    await graphql(CANCEL, {"input": cancel}, token=token_for(settings, poster))
    assert await run_payment_jobs(session_factory, settings) == ["payments.refund"]
    assert await _held(session_factory, bounty_id) == 0
    assert provider.charged(str(bounty_id)) == 0
    refunded = sorted(pi for pi, _ in provider.refunds.values() if pi in {
        i.id for i in provider.intents_for(str(bounty_id))})  # fmt: skip
    assert refunded == sorted(i.id for i in provider.intents_for(str(bounty_id)))
