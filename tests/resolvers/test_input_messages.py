"""Messages a mobile developer reads in the first hour: valid values listed, statuses as English."""

from __future__ import annotations

import pytest

from app.db.engine import SessionFactory
from app.db.models import ApplicationStatus, Bounty, BountyStatus
from app.settings import Settings
from tests.bounty_factories import (
    ACCEPT,
    APPLY,
    CREATE,
    NEW_BOUNTY,
    PUBLISH,
    WITHDRAW,
    bounty_snapshot,
    count_rows,
    insert_application,
    insert_bounty,
)
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio


async def test_an_unknown_category_or_currency_lists_the_valid_ones(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    token = token_for(settings, await create_user(session_factory))
    category = await graphql(
        CREATE, {"input": {**NEW_BOUNTY, "category": "Gardening"}}, token=token
    )
    assert category["data"]["createBounty"] == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "no category 'Gardening'; use one of delivery, design, development, "
        "handyman, moving, other, pets, photography, tutoring, writing",
        "field": "input.category",
    }
    reward = {"amount": 100, "currency": "usd"}
    currency = await graphql(CREATE, {"input": {**NEW_BOUNTY, "reward": reward}}, token=token)
    assert currency["data"]["createBounty"] == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "'usd' is not a currency we support; use one of "
        "AUD, CAD, CHF, EUR, GBP, JPY, NZD, SEK, USD",
        "field": "input.reward.currency",
    }
    assert await count_rows(session_factory, Bounty) == 0


async def test_transition_messages_use_the_right_article(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter = await create_user(session_factory), await create_user(session_factory)
    opened = await insert_bounty(session_factory, poster, status=BountyStatus.OPEN)
    before = await bounty_snapshot(session_factory, opened)
    again = await graphql(
        PUBLISH,
        {"input": {"bountyId": global_id("Bounty", opened), "idempotencyKey": "k1"}},
        token=token_for(settings, poster),
    )
    assert again["data"]["publishBounty"] == {
        "__typename": "InvalidTransitionError",
        "code": "INVALID_TRANSITION",
        "message": "an OPEN bounty cannot become FUNDING_PENDING",
        "field": "status",
        "currentStatus": "OPEN",
        "attemptedStatus": "FUNDING_PENDING",
    }
    draft = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    applied = await graphql(
        APPLY,
        {"input": {"bountyId": global_id("Bounty", draft), "message": "me"}},
        token=token_for(settings, hunter),
    )
    assert applied["data"]["applyToBounty"]["code"] == "NOT_FOUND"  # a draft is the poster's
    accepted = await insert_application(
        session_factory, opened, hunter, status=ApplicationStatus.ACCEPTED
    )
    variables = {"input": {"applicationId": global_id("BountyApplication", accepted)}}
    withdrawn = await graphql(WITHDRAW, variables, token=token_for(settings, hunter))
    assert withdrawn["data"]["withdrawApplication"]["message"] == (
        "an ACCEPTED application cannot be withdrawn"
    )
    rejected = await insert_application(
        session_factory, opened, await create_user(session_factory),
        status=ApplicationStatus.REJECTED,
    )  # fmt: skip
    variables = {"input": {"applicationId": global_id("BountyApplication", rejected)}}
    refused = await graphql(ACCEPT, variables, token=token_for(settings, poster))
    assert refused["data"]["acceptApplication"]["message"] == (
        "a REJECTED application cannot be accepted"
    )
    after = await bounty_snapshot(session_factory, opened)
    assert {key: after[key] for key in ("status", "history", "payments")} == {
        key: before[key] for key in ("status", "history", "payments")
    }
    assert dict(after["applications"]) == {
        accepted: ApplicationStatus.ACCEPTED,
        rejected: ApplicationStatus.REJECTED,
    }
