"""Business counters move by exactly what the flows did, once committed, and never on refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.monitoring.helpers import value
from tests.auth_helpers import SIGN_UP
from tests.bounty_factories import (
    ACCEPT,
    APPLY,
    APPROVE,
    CREATE,
    NEW_BOUNTY,
    PUBLISH,
    SUBMIT,
    TEST_CARD,
)
from tests.conftest import GraphQL

pytestmark = pytest.mark.asyncio

REVIEW = """mutation ($input: ReviewUserInput!) {
  reviewUser(input: $input) { __typename ... on UserError { code } }
}"""
BOUNTY_EVENTS = (
    "created",
    "published",
    "accepted",
    "completed",
    "cancelled",
    "expired",
    "disputed",
)
APPLICATION_EVENTS = ("submitted", "withdrawn", "accepted", "rejected")


def business_counters() -> dict[str, float]:
    counters = {
        "sign_ups": value("bountyexpo_sign_ups_total"),
        "reviews": value("bountyexpo_reviews_total"),
        "charged": value(
            "bountyexpo_payments_total", type="charge", status="succeeded", currency="USD"
        ),
        "transferred": value(
            "bountyexpo_payments_total", type="transfer", status="succeeded", currency="USD"
        ),
        "refunded": value(
            "bountyexpo_payments_total", type="refund", status="succeeded", currency="USD"
        ),
        "charged_amount": value(
            "bountyexpo_payments_amount_minor_units_total", type="charge", currency="USD"
        ),
        "transferred_amount": value(
            "bountyexpo_payments_amount_minor_units_total", type="transfer", currency="USD"
        ),
    }
    for event in BOUNTY_EVENTS:
        counters[f"bounty {event}"] = value("bountyexpo_bounties_total", event=event)
    for event in APPLICATION_EVENTS:
        counters[f"application {event}"] = value(
            "bountyexpo_bounty_applications_total", event=event
        )
    return counters


def moved(before: dict[str, float]) -> dict[str, float]:
    after = business_counters()
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


async def sign_up(graphql: GraphQL, email: str) -> dict[str, Any]:
    variables = {"input": {"email": email, "password": "a long passphrase", "displayName": "X"}}
    result: dict[str, Any] = (await graphql(SIGN_UP, variables))["data"]["signUp"]
    assert result["__typename"] == "SignUpSuccess", result
    return result


async def test_the_marketplace_flow_moves_each_business_counter_exactly(
    graphql: GraphQL,
) -> None:
    before = business_counters()
    poster = await sign_up(graphql, "poster@example.test")
    hunter = await sign_up(graphql, "hunter@example.test")
    assert moved(before) == {"sign_ups": 2}
    as_poster = poster["session"]["accessToken"]
    as_hunter = hunter["session"]["accessToken"]

    created = await graphql(CREATE, {"input": NEW_BOUNTY}, token=as_poster)
    bounty_id = created["data"]["createBounty"]["bounty"]["id"]
    pay = {
        "input": {
            "bountyId": bounty_id,
            "idempotencyKey": "publish-1",
            "paymentMethodId": TEST_CARD,
        }
    }
    assert (await graphql(PUBLISH, pay, token=as_poster))["data"]["publishBounty"]["bounty"][
        "status"
    ] == "OPEN"
    applied = await graphql(
        APPLY, {"input": {"bountyId": bounty_id, "message": "On it"}}, token=as_hunter
    )
    application_id = applied["data"]["applyToBounty"]["application"]["id"]
    accept = {"input": {"applicationId": application_id}}
    assert (await graphql(ACCEPT, accept, token=as_poster))["data"]["acceptApplication"]["bounty"][
        "status"
    ] == "ASSIGNED"
    submit = {"input": {"bountyId": bounty_id, "note": "Done", "attachments": []}}
    await graphql(SUBMIT, submit, token=as_hunter)
    approve = {"input": {"bountyId": bounty_id, "idempotencyKey": "approve-1"}}
    approved = await graphql(APPROVE, approve, token=as_poster)
    assert approved["data"]["approveCompletion"]["bounty"]["status"] == "COMPLETED"
    review = {"input": {"bountyId": bounty_id, "rating": 5, "text": "Great"}}
    assert (await graphql(REVIEW, review, token=as_poster))["data"]["reviewUser"] == {
        "__typename": "ReviewUserSuccess"
    }
    reward = NEW_BOUNTY["reward"]["amount"]  # type: ignore[index]
    assert moved(before) == {
        "sign_ups": 2,
        "bounty created": 1,
        "bounty published": 1,
        "charged": 1,
        "charged_amount": reward,
        "application submitted": 1,
        "bounty accepted": 1,
        "application accepted": 1,
        "bounty completed": 1,
        "transferred": 1,
        "transferred_amount": reward,
        "reviews": 1,
    }

    # Refused or repeated requests count nothing: a replayed key, a transition from the wrong
    # state, a second application, a second review, a taken email.
    settled = business_counters()
    await graphql(APPROVE, approve, token=as_poster)  # the same key: the first result again
    again = {"input": {"bountyId": bounty_id, "idempotencyKey": "publish-2"}}
    refused = await graphql(PUBLISH, again, token=as_poster)
    assert refused["data"]["publishBounty"]["code"] == "INVALID_TRANSITION"
    await graphql(APPLY, {"input": {"bountyId": bounty_id, "message": "Again"}}, token=as_hunter)
    assert (await graphql(REVIEW, review, token=as_poster))["data"]["reviewUser"] == {
        "__typename": "AlreadyReviewedError",
        "code": "ALREADY_REVIEWED",
    }
    variables = {"input": {"email": "poster@example.test", "password": "another passphrase 1"}}
    variables["input"]["displayName"] = "Y"
    taken = await graphql(SIGN_UP, variables)
    assert taken["data"]["signUp"]["code"] == "EMAIL_TAKEN"
    assert moved(settled) == {}
