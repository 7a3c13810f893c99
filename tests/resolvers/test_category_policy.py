"""Category compliance: a prohibited category cannot be created or published; a restricted one
goes to the moderators' queue and publishes once a moderator approves it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, Role
from app.settings import Settings
from tests.bounty_factories import CREATE, NEW_BOUNTY, PUBLISH, TEST_CARD, insert_bounty
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

SET = """mutation ($input: SetCategoryPolicyInput!) {
  setCategoryPolicy(input: $input) {
    __typename
    ... on SetCategoryPolicySuccess { entry { category policy reason } }
    ... on UserError { code field }
  }
}"""
QUEUE = "{ contentReviewQueue { edges { node { id targetId reason note reporter { id } } } } }"
RESOLVE = """mutation ($input: ResolveReportInput!) {
  resolveReport(input: $input) { __typename }
}"""


async def _status(engine: AsyncEngine, bounty_id: object) -> str:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text("SELECT status FROM bounties WHERE id = :id"), {"id": bounty_id}
        )
    return str(value)


async def test_prohibited_is_refused_and_restricted_waits_for_a_moderator(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN)
    moderator = await create_user(session_factory, role=Role.MODERATOR)
    poster = await create_user(session_factory)
    a, m, p = (token_for(settings, user) for user in (admin, moderator, poster))
    draft = await insert_bounty(
        session_factory, poster, status=BountyStatus.DRAFT, category="handyman"
    )

    def publish(key: str) -> dict[str, object]:
        return {
            "input": {
                "bountyId": global_id("Bounty", draft),
                "idempotencyKey": key,
                "paymentMethodId": TEST_CARD,
            }
        }

    body = await graphql(
        SET, {"input": {"category": "handyman", "policy": "PROHIBITED", "reason": "test"}}, token=a
    )
    assert body["data"]["setCategoryPolicy"] == {
        "__typename": "SetCategoryPolicySuccess",
        "entry": {"category": "handyman", "policy": "PROHIBITED", "reason": "test"},
    }
    created = await graphql(CREATE, {"input": NEW_BOUNTY}, token=p)
    assert created["data"]["createBounty"]["__typename"] == "CategoryProhibitedError"
    assert created["data"]["createBounty"]["code"] == "CATEGORY_PROHIBITED"
    refused = await graphql(PUBLISH, publish("k-1"), token=p)
    assert refused["data"]["publishBounty"]["code"] == "CATEGORY_PROHIBITED"
    assert await _status(engine, draft) == "DRAFT"

    await graphql(SET, {"input": {"category": "handyman", "policy": "RESTRICTED"}}, token=a)
    for key in ("k-2", "k-3"):  # asking twice queues one review
        pending = await graphql(PUBLISH, publish(key), token=p)
        assert pending["data"]["publishBounty"]["code"] == "CATEGORY_REVIEW_PENDING"
    assert await _status(engine, draft) == "DRAFT"
    queue = (await graphql(QUEUE, token=m))["data"]["contentReviewQueue"]["edges"]
    assert [(e["node"]["targetId"], e["node"]["reason"], e["node"]["reporter"]) for e in queue] == [
        (global_id("Bounty", draft), "PROHIBITED", None)
    ]
    approved = await graphql(
        RESOLVE, {"input": {"reportId": queue[0]["node"]["id"], "action": "DISMISS"}}, token=m
    )
    assert approved["data"]["resolveReport"]["__typename"] == "ResolveReportSuccess"
    published = await graphql(PUBLISH, publish("k-4"), token=p)
    assert published["data"]["publishBounty"]["bounty"]["status"] == "OPEN"

    listed = await graphql("{ categoryPolicies { category policy } }", token=a)
    policies = {e["category"]: e["policy"] for e in listed["data"]["categoryPolicies"]}
    assert policies["handyman"] == "RESTRICTED"
    assert set(policies.values()) == {"ALLOWED", "RESTRICTED"}
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT detail FROM audit_events "
                    "WHERE action = 'risk.category_policy' ORDER BY id"
                )
            )
        ).all()
    assert [(r[0]["previous"], r[0]["policy"]) for r in rows] == [
        ("ALLOWED", "PROHIBITED"),
        ("PROHIBITED", "RESTRICTED"),
    ]
    unknown = await graphql(SET, {"input": {"category": "nope", "policy": "ALLOWED"}}, token=a)
    assert unknown["data"]["setCategoryPolicy"]["code"] == "NOT_FOUND"
