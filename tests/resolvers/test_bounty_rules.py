"""Rules around the lifecycle: concurrent accepts, idempotency keys, suspended accounts,
applications, edits, and expiry by the schedule."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import ApplicationStatus, Bounty, BountyStatus, User, UserStatus
from app.db.models.base import utcnow
from app.settings import Settings
from tests.bounty_factories import (
    ACCEPT,
    APPLY,
    CANCEL,
    CREATE,
    NEW_BOUNTY,
    PUBLISH,
    TEST_CARD,
    UPDATE,
    WITHDRAW,
    bounty_snapshot,
    insert_application,
    insert_bounty,
)
from tests.conftest import GraphQL, make_settings
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import run_payment_jobs
from workers import bounties as bounty_jobs
from workers.registry import ScheduleRun

pytestmark = pytest.mark.asyncio


async def test_two_concurrent_accepts_on_one_bounty_exactly_one_wins(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    token = token_for(settings, poster)
    for _ in range(5):  # several rounds: the requests interleave differently each time
        bounty_id = await insert_bounty(session_factory, poster)
        hunters = [await create_user(session_factory) for _ in range(2)]
        applications = [await insert_application(session_factory, bounty_id, h) for h in hunters]
        results = await asyncio.gather(
            *(
                graphql(
                    ACCEPT,
                    {"input": {"applicationId": global_id("BountyApplication", application)}},
                    token=token,
                )
                for application in applications
            )
        )
        outcomes = [result["data"]["acceptApplication"] for result in results]
        winners = [o for o in outcomes if o["__typename"] == "ApplicationSuccess"]
        losers = [o for o in outcomes if o["__typename"] != "ApplicationSuccess"]
        assert len(winners) == 1, outcomes
        assert len(losers) == 1, outcomes
        assert losers[0]["code"] in ("INVALID_TRANSITION",)
        state = await bounty_snapshot(session_factory, bounty_id)
        assert state["status"] is BountyStatus.ASSIGNED
        assert state["history"] == [(BountyStatus.OPEN, BountyStatus.ASSIGNED)]
        winner = applications[outcomes.index(winners[0])]
        assert state["hunter_id"] == hunters[outcomes.index(winners[0])].id
        assert sorted(state["applications"]) == sorted(
            (a, ApplicationStatus.ACCEPTED if a == winner else ApplicationStatus.REJECTED)
            for a in applications
        )


async def test_an_idempotency_key_returns_the_first_result_and_refuses_other_input(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    token = token_for(settings, poster)
    first = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    second = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    publish = {
        "bountyId": global_id("Bounty", first),
        "idempotencyKey": "publish-abc",
        "paymentMethodId": TEST_CARD,
    }
    one = await graphql(PUBLISH, {"input": publish}, token=token)
    two = await graphql(PUBLISH, {"input": publish}, token=token)
    assert one["data"]["publishBounty"]["bounty"]["status"] == "OPEN"
    assert two == one
    state = await bounty_snapshot(session_factory, first)
    assert state["payments"] == [("FUNDING", state["payments"][0][1])]
    assert len(state["history"]) == 2
    other = {**publish, "bountyId": global_id("Bounty", second)}
    reused = (await graphql(PUBLISH, {"input": other}, token=token))["data"]["publishBounty"]
    assert reused["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert (await bounty_snapshot(session_factory, second))["status"] is BountyStatus.DRAFT
    # Keys are per user: another poster may use the same string.
    stranger = await create_user(session_factory)
    theirs = await insert_bounty(session_factory, stranger, status=BountyStatus.DRAFT)
    result = await graphql(
        PUBLISH,
        {"input": {**publish, "bountyId": global_id("Bounty", theirs)}},
        token=token_for(settings, stranger),
    )
    assert result["data"]["publishBounty"]["bounty"]["status"] == "OPEN"


async def test_a_failed_attempt_leaves_its_key_free_for_a_retry(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    token = token_for(settings, poster)
    bounty_id = await insert_bounty(session_factory, poster, status=BountyStatus.ASSIGNED)
    cancel = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "cancel-1"}
    refused = (await graphql(CANCEL, {"input": cancel}, token=token))["data"]["cancelBounty"]
    assert refused["code"] == "INVALID_TRANSITION"
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Bounty).where(col(Bounty.id) == bounty_id).values(status=BountyStatus.OPEN)
        )
    done = (await graphql(CANCEL, {"input": cancel}, token=token))["data"]["cancelBounty"]
    assert done["bounty"]["status"] == "CANCELLED"
    refunded = (await bounty_snapshot(session_factory, bounty_id))["payments"]
    assert [kind for kind, _ in refunded] == ["FUNDING", "REFUND"]
    assert await run_payment_jobs(session_factory, settings) == ["payments.refund"]
    refunded = (await bounty_snapshot(session_factory, bounty_id))["payments"]
    assert [kind for kind, _ in refunded] == ["FUNDING", "REFUND", "REFUND_SETTLED"]
    await assert_ledger_invariants(session_factory)


async def _suspend(session_factory: SessionFactory, user: User) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(User).where(col(User.id) == user.id).values(status=UserStatus.SUSPENDED)
        )


async def test_suspended_accounts_cannot_post_or_apply(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    user = await create_user(session_factory)
    token = token_for(settings, user)  # issued before the suspension: still unexpired
    bounty_id = await insert_bounty(session_factory, poster)
    await _suspend(session_factory, user)
    created = (await graphql(CREATE, {"input": NEW_BOUNTY}, token=token))["data"]["createBounty"]
    assert created["code"] == "ACCOUNT_SUSPENDED"
    apply = {"bountyId": global_id("Bounty", bounty_id), "message": "hi"}
    applied = (await graphql(APPLY, {"input": apply}, token=token))["data"]["applyToBounty"]
    assert applied["code"] == "ACCOUNT_SUSPENDED"
    assert (await bounty_snapshot(session_factory, bounty_id))["applications"] == []
    # The account is checked before the bounty (read in the same statement when it exists,
    # separately when it does not), and before the message.
    for target, message in ((uuid.uuid4(), "hi"), (bounty_id, "")):
        apply = {"bountyId": global_id("Bounty", target), "message": message}
        applied = (await graphql(APPLY, {"input": apply}, token=token))["data"]["applyToBounty"]
        assert applied["code"] == "ACCOUNT_SUSPENDED"
    active = token_for(settings, await create_user(session_factory))
    apply = {"bountyId": global_id("Bounty", uuid.uuid4()), "message": "hi"}
    applied = (await graphql(APPLY, {"input": apply}, token=active))["data"]["applyToBounty"]
    assert applied["code"] == "NOT_FOUND"


async def test_application_rules(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter = await create_user(session_factory), await create_user(session_factory)
    bounty = global_id("Bounty", await insert_bounty(session_factory, poster))
    apply = {"input": {"bountyId": bounty, "message": "Me", "proposedAmount": 1200}}
    own = await graphql(APPLY, apply, token=token_for(settings, poster))
    assert own["data"]["applyToBounty"]["code"] == "OWN_BOUNTY"
    first = (await graphql(APPLY, apply, token=token_for(settings, hunter)))["data"]
    application = first["applyToBounty"]["application"]["id"]
    again = await graphql(APPLY, apply, token=token_for(settings, hunter))
    assert again["data"]["applyToBounty"]["code"] == "ALREADY_APPLIED"
    withdraw = {"input": {"applicationId": application}}
    by_poster = await graphql(WITHDRAW, withdraw, token=token_for(settings, poster))
    assert by_poster["data"]["withdrawApplication"]["code"] == "NOT_ALLOWED"
    done = await graphql(WITHDRAW, withdraw, token=token_for(settings, hunter))
    assert done["data"]["withdrawApplication"]["application"]["status"] == "WITHDRAWN"
    twice = await graphql(WITHDRAW, withdraw, token=token_for(settings, hunter))
    assert twice["data"]["withdrawApplication"]["code"] == "INVALID_TRANSITION"
    # Withdrawn, the hunter may apply again.
    back = await graphql(APPLY, apply, token=token_for(settings, hunter))
    assert back["data"]["applyToBounty"]["application"]["status"] == "PENDING"
    mine = """{ myApplications { edges { node { status proposedAmount { amount currency }
      bounty { id } } } } }"""
    listed = (await graphql(mine, token=token_for(settings, hunter)))["data"]["myApplications"]
    amount = {"amount": 1200, "currency": "USD"}
    assert [edge["node"] for edge in listed["edges"]] == [
        {"status": "PENDING", "proposedAmount": amount, "bounty": {"id": bounty}},
        {"status": "WITHDRAWN", "proposedAmount": amount, "bounty": {"id": bounty}},
    ]
    # totalCount, asked for: every application of yours under the filter, cursor or not.
    counted = """query ($status: ApplicationStatus, $first: Int, $after: String) {
      myApplications(status: $status, first: $first, after: $after) {
        totalCount pageInfo { endCursor } edges { node { status } }
      }
    }"""
    token = token_for(settings, hunter)
    first = (await graphql(counted, {"first": 1}, token=token))["data"]["myApplications"]
    assert first["totalCount"] == 2
    rest = await graphql(counted, {"after": first["pageInfo"]["endCursor"]}, token=token)
    assert rest["data"]["myApplications"]["totalCount"] == 2
    assert [e["node"]["status"] for e in rest["data"]["myApplications"]["edges"]] == ["WITHDRAWN"]
    pending = await graphql(counted, {"status": "PENDING"}, token=token)
    assert pending["data"]["myApplications"]["totalCount"] == 1
    other = token_for(settings, poster)
    assert (await graphql(counted, {}, token=other))["data"]["myApplications"]["totalCount"] == 0


async def test_edits_follow_status_and_ownership(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, other = await create_user(session_factory), await create_user(session_factory)
    draft = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    open_ = await insert_bounty(session_factory, poster, status=BountyStatus.OPEN)
    assigned = await insert_bounty(session_factory, poster, status=BountyStatus.ASSIGNED)
    token = token_for(settings, poster)

    def edit(bounty_id: uuid.UUID, **values: object) -> dict[str, object]:
        return {"input": {"bountyId": global_id("Bounty", bounty_id), **values}}

    ok = await graphql(
        UPDATE,
        edit(draft, title="  New   title ", reward={"amount": 99, "currency": "EUR"}),
        token=token,
    )
    assert ok["data"]["updateBounty"]["__typename"] == "BountySuccess"
    reward = await graphql(
        UPDATE, edit(open_, reward={"amount": 99, "currency": "EUR"}), token=token
    )
    assert reward["data"]["updateBounty"]["field"] == "input.reward"
    late = await graphql(UPDATE, edit(assigned, title="Too late"), token=token)
    assert late["data"]["updateBounty"]["code"] == "INVALID_TRANSITION"
    theirs = await graphql(UPDATE, edit(open_, title="Mine now"), token=token_for(settings, other))
    assert theirs["data"]["updateBounty"]["code"] == "NOT_ALLOWED"
    hidden = await graphql(UPDATE, edit(draft, title="Peek"), token=token_for(settings, other))
    assert hidden["data"]["updateBounty"]["code"] == "NOT_FOUND"
    # Ownership before input: a stranger's invalid title is refused as theirs, not as invalid.
    short = await graphql(UPDATE, edit(open_, title="x"), token=token_for(settings, other))
    assert short["data"]["updateBounty"]["code"] == "NOT_ALLOWED"
    blank = await graphql(UPDATE, edit(open_, title="x"), token=token)
    assert blank["data"]["updateBounty"]["field"] == "input.title"
    bad = await graphql(UPDATE, edit(open_, category="nonsense"), token=token)
    assert bad["data"]["updateBounty"] == {
        "__typename": "InvalidInputError", "code": "INVALID_INPUT",
        "message": "no category 'nonsense'; use one of delivery, design, development, "
        "handyman, moving, other, pets, photography, tutoring, writing",
        "field": "input.category",
    }  # fmt: skip
    read = "query ($id: ID!) { bounty(id: $id) { title reward { amount currency } } }"
    seen = await graphql(read, {"id": global_id("Bounty", draft)}, token=token)
    assert seen["data"]["bounty"] == {
        "title": "New title",
        "reward": {"amount": 99, "currency": "EUR"},
    }
    unchanged = await graphql(read, {"id": global_id("Bounty", open_)}, token=token)
    assert unchanged["data"]["bounty"]["title"] != "Mine now"


async def test_the_expiry_schedule_expires_and_refunds_overdue_open_bounties(
    session_factory: SessionFactory,
) -> None:
    poster = await create_user(session_factory)
    past = utcnow() - timedelta(minutes=1)
    overdue = await insert_bounty(session_factory, poster, deadline=past)
    assigned = await insert_bounty(
        session_factory, poster, status=BountyStatus.ASSIGNED, deadline=past
    )
    later = await insert_bounty(session_factory, poster, deadline=utcnow() + timedelta(days=1))
    await bounty_jobs.expire(ScheduleRun("bounties.expire", session_factory))
    expired = await bounty_snapshot(session_factory, overdue)
    assert expired["status"] is BountyStatus.EXPIRED
    assert expired["history"] == [(BountyStatus.OPEN, BountyStatus.EXPIRED)]
    assert [call[0] for call in expired["payments"]] == ["FUNDING", "REFUND"]
    assert await run_payment_jobs(session_factory, make_settings()) == ["payments.refund"]
    expired = await bounty_snapshot(session_factory, overdue)
    assert [call[0] for call in expired["payments"]] == ["FUNDING", "REFUND", "REFUND_SETTLED"]
    await assert_ledger_invariants(session_factory)
    assert (await bounty_snapshot(session_factory, assigned))["status"] is BountyStatus.ASSIGNED
    assert (await bounty_snapshot(session_factory, later))["status"] is BountyStatus.OPEN
