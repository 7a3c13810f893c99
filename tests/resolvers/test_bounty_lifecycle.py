"""The bounty lifecycle through the API: the whole happy path, then every action from every
status, allowed or refused with its exact code, refusals changing nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, Role, User
from app.settings import Settings
from services.bounties.lifecycle import TRANSITIONS
from services.payments import ledger
from tests.bounty_factories import (
    ACCEPT,
    APPLY,
    APPROVE,
    CANCEL,
    CREATE,
    NEW_BOUNTY,
    OPEN_DISPUTE,
    PUBLISH,
    REQUEST_CHANGES,
    RESOLVE_DISPUTE,
    SUBMIT,
    TEST_CARD,
    bounty_snapshot,
    insert_application,
    insert_bounty,
)
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants

pytestmark = pytest.mark.asyncio
S = BountyStatus

HISTORY = """query ($id: ID!) { bounty(id: $id) {
  status hunter { displayName } applicationCount
  history { fromStatus toStatus note actor { displayName } }
  applications { status hunter { displayName } }
} }"""


async def test_a_bounty_goes_from_draft_to_completed_and_both_sides_review(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory, display_name="Poppy Poster")
    hunter = await create_user(session_factory, display_name="Hank Hunter")
    other = await create_user(session_factory, display_name="Olive Other")
    p, h, o = (token_for(settings, user) for user in (poster, hunter, other))

    created = (await graphql(CREATE, {"input": NEW_BOUNTY}, token=p))["data"]["createBounty"]
    assert created["__typename"] == "BountySuccess"
    bounty = created["bounty"]["id"]
    assert created["bounty"]["status"] == "DRAFT"

    published = await graphql(
        PUBLISH,
        {"input": {"bountyId": bounty, "idempotencyKey": "pub-1", "paymentMethodId": TEST_CARD}},
        token=p,
    )
    assert published["data"]["publishBounty"]["bounty"]["status"] == "OPEN"

    applied = {}
    for token, name in ((h, "h"), (o, "o")):
        result = await graphql(
            APPLY, {"input": {"bountyId": bounty, "message": "Me!"}}, token=token
        )
        assert result["data"]["applyToBounty"]["application"]["status"] == "PENDING"
        applied[name] = result["data"]["applyToBounty"]["application"]["id"]

    accepted = await graphql(ACCEPT, {"input": {"applicationId": applied["h"]}}, token=p)
    assert accepted["data"]["acceptApplication"]["bounty"] == {
        "id": bounty, "status": "ASSIGNED", "hunter": {"id": global_id("User", hunter.id)},
    }  # fmt: skip

    link = ["https://x.test/a.jpg"]
    steps: list[tuple[str, str, dict[str, Any], str, str]] = [
        (SUBMIT, "submitWork", {"note": "Done", "attachments": link}, h, "SUBMITTED"),
        (REQUEST_CHANGES, "requestChanges", {"note": "Still squeals"}, p, "CHANGES_REQUESTED"),
        (SUBMIT, "submitWork", {"note": "Now it is quiet"}, h, "SUBMITTED"),
        (APPROVE, "approveCompletion", {"idempotencyKey": "ok-1"}, p, "COMPLETED"),
    ]
    for document, field, variables, token, status in steps:
        result = await graphql(document, {"input": {"bountyId": bounty, **variables}}, token=token)
        assert result["data"][field]["bounty"]["status"] == status, result

    seen = (await graphql(HISTORY, {"id": bounty}, token=p))["data"]["bounty"]
    assert seen["status"] == "COMPLETED"
    assert seen["hunter"] == {"displayName": "Hank Hunter"}
    assert seen["applicationCount"] == 2
    assert [
        (e["fromStatus"], e["toStatus"], e["actor"]["displayName"]) for e in seen["history"]
    ] == [
        (None, "DRAFT", "Poppy Poster"),
        ("DRAFT", "FUNDING_PENDING", "Poppy Poster"),
        ("FUNDING_PENDING", "OPEN", "Poppy Poster"),
        ("OPEN", "ASSIGNED", "Poppy Poster"),
        ("ASSIGNED", "SUBMITTED", "Hank Hunter"),
        ("SUBMITTED", "CHANGES_REQUESTED", "Poppy Poster"),
        ("CHANGES_REQUESTED", "SUBMITTED", "Hank Hunter"),
        ("SUBMITTED", "COMPLETED", "Poppy Poster"),
    ]
    assert seen["history"][5]["note"] == "Still squeals"
    assert [(a["status"], a["hunter"]["displayName"]) for a in seen["applications"]] == [
        ("ACCEPTED", "Hank Hunter"),
        ("REJECTED", "Olive Other"),
    ]
    bounty_id = uuid.UUID(_node_id(bounty))
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["payments"] == [("FUNDING", 2500), ("RELEASE", 2500)]
    # The release paid the platform fee in force at funding (10%) and the rest to the hunter.
    async with session_factory() as session:
        assert await ledger.balance(session, ledger.wallet(hunter.id, "USD")) == 2250
        assert await ledger.balance(session, ledger.fees("USD")) == 250
        assert await ledger.balance(session, ledger.held(bounty_id, "USD")) == 0
    await assert_ledger_invariants(session_factory)

    review = """mutation ($input: ReviewUserInput!) { reviewUser(input: $input) {
      __typename ... on ReviewUserSuccess { review { rating text author { displayName } } }
      ... on UserError { code } } }"""
    first = await graphql(
        review, {"input": {"bountyId": bounty, "rating": 5, "text": "Great"}}, token=p
    )
    assert first["data"]["reviewUser"]["review"] == {
        "rating": 5, "text": "Great", "author": {"displayName": "Poppy Poster"},
    }  # fmt: skip
    again = await graphql(review, {"input": {"bountyId": bounty, "rating": 1}}, token=p)
    assert again["data"]["reviewUser"] == {
        "__typename": "AlreadyReviewedError",
        "code": "ALREADY_REVIEWED",
    }
    await graphql(review, {"input": {"bountyId": bounty, "rating": 4}}, token=h)
    stranger = await graphql(review, {"input": {"bountyId": bounty, "rating": 1}}, token=o)
    assert stranger["data"]["reviewUser"]["code"] == "NOT_ALLOWED"

    profile = (
        """query ($id: ID!) { profile(id: $id) { rating reviewCount reviews { rating text } } }"""
    )
    hunter_profile = (await graphql(profile, {"id": global_id("User", hunter.id)}))["data"][
        "profile"
    ]
    assert hunter_profile == {
        "rating": 5.0,
        "reviewCount": 1,
        "reviews": [{"rating": 5, "text": "Great"}],
    }
    poster_profile = (await graphql(profile, {"id": global_id("User", poster.id)}))["data"][
        "profile"
    ]
    assert poster_profile["rating"] == 4.0


def _node_id(global_id_value: str) -> str:
    from strawberry import relay

    return relay.from_base64(global_id_value)[1]


# Each action: who performs it, and the statuses it starts from (the spec, written out here
# independently of services.bounties.lifecycle so a change there must be made here too).
ACTIONS: dict[str, tuple[str, str, str, frozenset[BountyStatus]]] = {
    "publish": (PUBLISH, "publishBounty", "poster", frozenset({S.DRAFT})),
    "cancel": (CANCEL, "cancelBounty", "poster", frozenset({S.DRAFT, S.FUNDING_PENDING, S.OPEN})),
    "apply": (APPLY, "applyToBounty", "applicant", frozenset({S.OPEN})),
    "accept": (ACCEPT, "acceptApplication", "poster", frozenset({S.OPEN})),
    "submit": (SUBMIT, "submitWork", "hunter", frozenset({S.ASSIGNED, S.CHANGES_REQUESTED})),
    "requestChanges": (REQUEST_CHANGES, "requestChanges", "poster", frozenset({S.SUBMITTED})),
    "approve": (APPROVE, "approveCompletion", "poster", frozenset({S.SUBMITTED})),
    "openDispute": (
        OPEN_DISPUTE,
        "openDispute",
        "hunter",
        frozenset({S.ASSIGNED, S.SUBMITTED, S.CHANGES_REQUESTED}),
    ),
    "resolveDispute": (RESOLVE_DISPUTE, "resolveDispute", "moderator", frozenset({S.DISPUTED})),
}
SUCCESSES = ("BountySuccess", "ApplicationSuccess", "PublishBountySuccess")
TARGET = {
    "publish": S.OPEN, "cancel": S.CANCELLED, "apply": None, "accept": S.ASSIGNED,
    "submit": S.SUBMITTED, "requestChanges": S.CHANGES_REQUESTED, "approve": S.COMPLETED,
    "openDispute": S.DISPUTED, "resolveDispute": S.COMPLETED,
}  # fmt: skip


async def test_the_spec_table_matches_the_state_machine() -> None:
    for action, (_, _, _, starts) in ACTIONS.items():
        target = TARGET[action]
        if target is None or action == "publish":
            continue
        # Every start is a transition of the machine (DISPUTED also reaches COMPLETED and
        # CANCELLED, but through resolveDispute only).
        assert starts <= {s for s, ends in TRANSITIONS.items() if target in ends}, action


def _variables(action: str, bounty: str, application: str) -> dict[str, Any]:
    return {
        "publish": {
            "bountyId": bounty, "idempotencyKey": f"k-{uuid.uuid4()}", "paymentMethodId": TEST_CARD,
        },
        "cancel": {"bountyId": bounty, "idempotencyKey": f"k-{uuid.uuid4()}"},
        "apply": {"bountyId": bounty, "message": "Let me"},
        "accept": {"applicationId": application},
        "submit": {"bountyId": bounty, "note": "Done"},
        "requestChanges": {"bountyId": bounty, "note": "More"},
        "approve": {"bountyId": bounty, "idempotencyKey": f"k-{uuid.uuid4()}"},
        "openDispute": {"bountyId": bounty, "note": "Not paid attention",
                        "idempotencyKey": f"k-{uuid.uuid4()}"},
        "resolveDispute": {
            "bountyId": bounty, "outcome": "RELEASE_TO_HUNTER", "note": "Work was done",
            "idempotencyKey": f"k-{uuid.uuid4()}",
        },
    }[action]  # fmt: skip


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_every_action_from_every_status(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings, action: str
) -> None:
    document, field, actor, starts = ACTIONS[action]
    people: dict[str, User] = {
        "poster": await create_user(session_factory),
        "hunter": await create_user(session_factory),
        "applicant": await create_user(session_factory),
        "moderator": await create_user(session_factory, role=Role.MODERATOR),
    }
    token = token_for(settings, people[actor])
    for status in BountyStatus:
        bounty_id = await insert_bounty(
            session_factory, people["poster"], status=status, hunter=people["hunter"]
        )
        application_id = await insert_application(session_factory, bounty_id, people["applicant"])
        before = await bounty_snapshot(session_factory, bounty_id)
        variables = _variables(
            action, global_id("Bounty", bounty_id), global_id("BountyApplication", application_id)
        )
        if action == "apply":  # the applicant already has a pending application: use another
            token = token_for(settings, await create_user(session_factory))
        result = (await graphql(document, {"input": variables}, token=token))["data"][field]
        after = await bounty_snapshot(session_factory, bounty_id)
        hidden = status in (S.DRAFT, S.FUNDING_PENDING) and actor != "poster"
        if status in starts:
            assert result["__typename"] in SUCCESSES, (status, result)
            if TARGET[action] is not None:
                assert after["status"] is TARGET[action], status
                assert after["history"][-1] == (
                    S.FUNDING_PENDING if action == "publish" else status,
                    TARGET[action],
                )
        else:
            expected = "NOT_FOUND" if hidden else "INVALID_TRANSITION"
            assert result["code"] == expected, (status, result)
            if expected == "INVALID_TRANSITION":
                assert result["currentStatus"] == status.value
            assert after == before, status
