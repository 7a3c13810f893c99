"""The admin dashboard on a seeded day with known answers, from rollups and the ledger."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.db.engine import SessionFactory
from app.db.models import AnalyticsEvent, EventSource, Granularity, Role
from app.settings import Settings
from services.admin import dashboard
from services.analytics import rollups
from tests.bounty_factories import (
    ACCEPT,
    APPLY,
    APPROVE,
    CREATE,
    NEW_BOUNTY,
    OPEN_DISPUTE,
    PUBLISH,
    SUBMIT,
    TEST_CARD,
)
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, token_for

pytestmark = pytest.mark.asyncio

DASHBOARD = """query ($from: DateTime!, $to: DateTime!) {
  adminDashboard(from: $from, to: $to) {
    usersTotal newUsers activePosters activeHunters
    bountiesByStatus { status count }
    gmv { amount currency } heldFunds { amount currency }
    platformRevenue { amount currency } payouts { amount currency }
    disputeRate
  }
}"""


async def _assigned(graphql: GraphQL, poster: str, hunter: str, key: str) -> str:
    created = await graphql(CREATE, {"input": NEW_BOUNTY}, token=poster)
    bounty: str = created["data"]["createBounty"]["bounty"]["id"]
    published = await graphql(
        PUBLISH,
        {"input": {"bountyId": bounty, "idempotencyKey": key, "paymentMethodId": TEST_CARD}},
        token=poster,
    )
    assert published["data"]["publishBounty"]["bounty"]["status"] == "OPEN"
    applied = await graphql(APPLY, {"input": {"bountyId": bounty, "message": "Me"}}, token=hunter)
    application = applied["data"]["applyToBounty"]["application"]["id"]
    accepted = await graphql(ACCEPT, {"input": {"applicationId": application}}, token=poster)
    assert accepted["data"]["acceptApplication"]["bounty"]["status"] == "ASSIGNED"
    return bounty


async def test_the_dashboard_gives_the_known_answers_of_a_seeded_day(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
) -> None:
    poster_user = await create_user(session_factory)
    hunter_user = await create_user(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    poster, hunter = token_for(settings, poster_user), token_for(settings, hunter_user)
    done = await _assigned(graphql, poster, hunter, "pub-1")
    submitted = await graphql(SUBMIT, {"input": {"bountyId": done, "note": "Done"}}, token=hunter)
    assert submitted["data"]["submitWork"]["bounty"]["status"] == "SUBMITTED"
    approved = await graphql(
        APPROVE, {"input": {"bountyId": done, "idempotencyKey": "ok-1"}}, token=poster
    )
    assert approved["data"]["approveCompletion"]["bounty"]["status"] == "COMPLETED"
    fought = await _assigned(graphql, poster, hunter, "pub-2")
    disputed = await graphql(
        OPEN_DISPUTE,
        {"input": {"bountyId": fought, "note": "No show", "idempotencyKey": "d-1"}},
        token=poster,
    )
    assert disputed["data"]["openDispute"]["bounty"]["status"] == "DISPUTED"

    today = rollups.bucket_of(datetime.now(UTC), Granularity.DAY)
    assert await rollups.rollup(session_factory, Granularity.DAY, today) > 0
    variables = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    sql_statements.statements.clear()
    body = await graphql(DASHBOARD, variables, token=token_for(settings, admin))
    assert len(sql_statements.statements) == 1
    assert body == {
        "data": {
            "adminDashboard": {
                "usersTotal": 3,
                "newUsers": 0,
                "activePosters": 1,
                "activeHunters": 1,
                "bountiesByStatus": [
                    {"status": "ASSIGNED", "count": 2},
                    {"status": "COMPLETED", "count": 1},
                    {"status": "CREATED", "count": 2},
                    {"status": "DISPUTED", "count": 1},
                    {"status": "FUNDING_PENDING", "count": 2},
                    {"status": "OPEN", "count": 2},
                    {"status": "SUBMITTED", "count": 1},
                ],
                "gmv": [{"amount": 2500, "currency": "USD"}],
                "heldFunds": [{"amount": 2500, "currency": "USD"}],
                "platformRevenue": [{"amount": 250, "currency": "USD"}],
                "payouts": [],
                "disputeRate": 0.5,
            }
        }
    }
    # Re-running the day's rollup changes nothing, and so the dashboard neither.
    assert await rollups.rollup(session_factory, Granularity.DAY, today) == 0
    assert await graphql(DASHBOARD, variables, token=token_for(settings, admin)) == body


async def test_a_closed_range_counts_its_active_users_once_and_stays_exact(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
) -> None:
    """Events are append-only on the server's clock: a range that closed over an hour ago keeps
    its active counts, and later requests read only the rollups and balances."""
    dashboard.forget_closed_ranges()
    admin = await create_user(session_factory, role=Role.ADMIN)
    posters = [await create_user(session_factory) for _ in range(3)]
    hunter = await create_user(session_factory)
    day = rollups.bucket_of(datetime.now(UTC), Granularity.DAY) - timedelta(days=10)
    async with session_factory() as session, session.begin():
        for index, poster in enumerate(posters):
            for name in ("bounty.created", "bounty.open"):
                session.add(
                    AnalyticsEvent(
                        name=name,
                        source=EventSource.SERVER,
                        user_id=poster.id,
                        received_at=day + timedelta(hours=index),
                    )
                )
        session.add(
            AnalyticsEvent(
                name="bounty.submitted",
                source=EventSource.SERVER,
                user_id=hunter.id,
                received_at=day + timedelta(hours=5),
            )
        )
        # The app's own events and other days count for nobody here.
        session.add(AnalyticsEvent(name="bounty.created", user_id=hunter.id, received_at=day))
        session.add(
            AnalyticsEvent(
                name="bounty.created",
                source=EventSource.SERVER,
                user_id=hunter.id,
                received_at=day + timedelta(days=1),
            )
        )
    variables = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    query = "query ($from: DateTime!, $to: DateTime!) { adminDashboard(from: $from, to: $to) { activePosters activeHunters usersTotal } }"  # noqa: E501
    token = token_for(settings, admin)
    answers, statements = [], []
    for _ in range(2):
        sql_statements.statements.clear()
        answers.append(await graphql(query, variables, token=token))
        statements.append(list(sql_statements.statements))
    expected = {"activePosters": 3, "activeHunters": 1, "usersTotal": 0}
    assert answers == [{"data": {"adminDashboard": expected}}] * 2
    assert [len(sent) for sent in statements] == [1, 1]
    assert "analytics_events" in statements[0][0]
    assert "analytics_events" not in statements[1][0]
    # An open range (today's) is counted every time.
    today = rollups.bucket_of(datetime.now(UTC), Granularity.DAY)
    live = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    for _ in range(2):
        sql_statements.statements.clear()
        await graphql(query, live, token=token)
        assert "analytics_events" in sql_statements.statements[0]
    dashboard.forget_closed_ranges()


async def test_a_range_ending_today_keeps_its_closed_days_users_and_counts_today_live(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dashboard.forget_closed_ranges()
    admin = await create_user(session_factory, role=Role.ADMIN)
    old, both, new, later = [await create_user(session_factory) for _ in range(4)]
    past = rollups.bucket_of(datetime.now(UTC), Granularity.DAY) - timedelta(days=10)

    async def event(user_id: uuid.UUID, name: str, at: datetime | None = None) -> None:
        async with session_factory() as session, session.begin():
            row = AnalyticsEvent(name=name, source=EventSource.SERVER, user_id=user_id)
            if at is not None:
                row.received_at = at
            session.add(row)

    await event(old.id, "bounty.created", past)
    await event(both.id, "bounty.open", past + timedelta(hours=2))
    await event(both.id, "bounty.submitted", past + timedelta(hours=3))
    await event(both.id, "bounty.completed")  # today: the same poster, counted once
    await event(new.id, "bounty.created")
    await event(new.id, "bounty.submitted")
    variables = {
        "from": past.isoformat(),
        "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    query = "query ($from: DateTime!, $to: DateTime!) { adminDashboard(from: $from, to: $to) { activePosters activeHunters } }"  # noqa: E501
    token = token_for(settings, admin)
    sent = []
    answers = []
    for _ in range(2):
        sql_statements.statements.clear()
        answers.append((await graphql(query, variables, token=token))["data"]["adminDashboard"])
        assert len(sql_statements.statements) == 1
        sent.append(sql_statements.statements[0])
    assert answers == [{"activePosters": 3, "activeHunters": 2}] * 2
    assert "'closed'" in sent[0]
    assert "'open'" in sent[0]
    assert "'closed'" not in sent[1]
    assert "'open'" in sent[1]
    # Today stays live: a new poster now counts at once; a known hunter again does not.
    await event(later.id, "bounty.open")
    await event(both.id, "bounty.submitted")
    body = await graphql(query, variables, token=token)
    assert body["data"]["adminDashboard"] == {"activePosters": 4, "activeHunters": 2}
    # Too many users to keep: listed once, then counted in full every time, as exactly.
    dashboard.forget_closed_ranges()
    monkeypatch.setattr(dashboard, "MOST_USERS_KEPT", 2)
    for _ in range(2):
        sql_statements.statements.clear()
        body = await graphql(query, variables, token=token)
        assert body["data"]["adminDashboard"] == {"activePosters": 4, "activeHunters": 2}
    assert "'closed'" not in sql_statements.statements[0]
    assert "'active'" in sql_statements.statements[0]
    dashboard.forget_closed_ranges()
