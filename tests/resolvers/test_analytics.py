"""Analytics end to end: trackEvents (validated, batched, append-only, rate limited),
server-side events from domain actions, rollups with known answers that a re-run does not
change, and the admin queries over them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import AnalyticsEvent, BountyStatus, EventSource, Granularity, Role
from app.settings import Settings
from services.analytics import rollups
from tests.bounty_factories import insert_bounty
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for
from tests.security.gateways import codes, gateway

pytestmark = pytest.mark.asyncio

TRACK = """mutation ($events: [TrackEventInput!]!) {
  trackEvents(events: $events) {
    __typename
    ... on TrackEventsSuccess { accepted }
    ... on UserError { code field }
  }
}"""
METRICS = """query ($metric: AnalyticsMetric!, $from: DateTime!, $to: DateTime!,
                 $granularity: AnalyticsGranularity) {
  analyticsMetrics(metric: $metric, from: $from, to: $to, granularity: $granularity) {
    metric granularity points { start dimension value }
  }
}"""
FUNNEL = """query ($from: DateTime!, $to: DateTime!) {
  analyticsFunnel(from: $from, to: $to) {
    created funded accepted completed fundedRate acceptedRate completedRate
  }
}"""
DAY = datetime(2026, 11, 20, tzinfo=UTC)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar() or 0)


async def test_track_events_validates_the_whole_batch_and_stores_it_in_one_statement(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    sql_statements: StatementCounter,
) -> None:
    user = await create_user(session_factory)
    token = token_for(settings, user)
    now = datetime.now(UTC)
    good = {
        "name": "screen.viewed",
        "properties": {"screen": "home"},
        "clientTimestamp": now.isoformat(),
    }
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([], "events"),
        ([good] * 101, "events"),
        ([good, {"name": "Screen Viewed"}], "events[1].name"),
        ([{"name": "bounty.completed"}], "events[0].name"),
        ([{"name": "x", "properties": [1, 2]}], "events[0].properties"),
        ([{"name": "x", "properties": {"blob": "y" * 5000}}], "events[0].properties"),
        (
            [{"name": "x", "clientTimestamp": (now - timedelta(days=8)).isoformat()}],
            "events[0].clientTimestamp",
        ),
    ]
    for batch, field in cases:
        body = await graphql(TRACK, {"events": batch}, token=token)
        assert body["data"]["trackEvents"] == {
            "__typename": "InvalidInputError",
            "code": "INVALID_INPUT",
            "field": field,
        }, field
    assert await _count(engine, "SELECT count(*) FROM analytics_events") == 0

    for size in (1, 100):
        sql_statements.statements.clear()
        body = await graphql(TRACK, {"events": [good] * size}, token=token)
        assert body["data"]["trackEvents"] == {"__typename": "TrackEventsSuccess", "accepted": size}
        inserts = [s for s in sql_statements.statements if "INSERT INTO analytics_events" in s]
        assert len(inserts) == 1
    assert await _count(engine, "SELECT count(*) FROM analytics_events") == 101
    rows = await _count(
        engine,
        f"SELECT count(*) FROM analytics_events WHERE user_id = '{user.id}' "  # noqa: S608
        "AND source = 'CLIENT' AND properties = '{\"screen\": \"home\"}'::jsonb",
    )
    assert rows == 101
    # Append-only: the database refuses to change or delete an event.
    for statement in ("UPDATE analytics_events SET name = 'x'", "DELETE FROM analytics_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    anonymous = await graphql(TRACK, {"events": [good]})
    assert codes(anonymous) == ["UNAUTHENTICATED"]


async def test_track_events_is_rate_limited_per_user(
    database_url: str, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    user = await create_user(session_factory)
    headers = {"authorization": f"Bearer {token_for(settings, user)}"}
    payload = {"query": TRACK, "variables": {"events": [{"name": "app.opened"}]}}
    async with gateway(database_url, rate_limits=True, rate_limit_events_per_minute=2) as client:
        for _ in range(2):
            ok = (await client.post("/graphql", json=payload, headers=headers)).json()
            assert ok["data"]["trackEvents"]["accepted"] == 1
        refused = await client.post("/graphql", json=payload, headers=headers)
    assert codes(refused.json()) == ["RATE_LIMITED"]
    assert int(refused.headers["retry-after"]) > 0
    assert await _count(engine, "SELECT count(*) FROM analytics_events") == 2


async def test_domain_actions_record_server_side_events(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    body = await graphql(
        """mutation { signUp(input: {email: "new@example.test", password: "a long passphrase",
                                    displayName: "New"}) { __typename } }"""
    )
    assert body["data"]["signUp"]["__typename"] == "SignUpSuccess"
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT name, source FROM analytics_events"))).all()
    assert rows == [("user.signed_up", "SERVER")]


async def _events(session_factory: SessionFactory, rows: list[dict[str, Any]]) -> None:
    async with session_factory() as session, session.begin():
        session.add_all(AnalyticsEvent(**row) for row in rows)


def _at(hour: int, minute: int = 0, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


async def _scenario(session_factory: SessionFactory) -> dict[str, Any]:
    """Two hours of 2026-11-20 with known answers (and a user active 5 days before)."""
    poster, hunter, browser = [await create_user(session_factory) for _ in range(3)]
    published = _at(9)
    one = await insert_bounty(
        session_factory, poster, status=BountyStatus.COMPLETED, published_at=published
    )
    two = await insert_bounty(
        session_factory, poster, status=BountyStatus.ASSIGNED, published_at=published
    )
    S = EventSource.SERVER

    def server(name: str, user: Any, at: datetime, **properties: Any) -> dict[str, Any]:
        return {
            "name": name,
            "source": S,
            "user_id": user.id,
            "received_at": at,
            "properties": properties,
        }

    def client(name: str, user: Any, at: datetime) -> dict[str, Any]:
        return {"name": name, "user_id": user.id, "received_at": at}

    await _events(
        session_factory,
        [
            client("app.opened", browser, DAY - timedelta(days=5)),  # counts for WAU and MAU only
            server("user.signed_up", hunter, _at(10, 1)),
            server("bounty.created", poster, _at(10, 2), bountyId=str(one)),
            server("bounty.created", poster, _at(10, 3), bountyId=str(two)),
            server(
                "bounty.open", poster, _at(10, 4), bountyId=str(one), amount=5000, currency="USD"
            ),
            server(
                "bounty.open", poster, _at(10, 5), bountyId=str(two), amount=2500, currency="EUR"
            ),
            client("screen.viewed", browser, _at(10, 30)),
            # 11:00-12:00: accepted 1 h and 3 h after publishing (median 2 h), one completion.
            server(
                "bounty.assigned",
                poster,
                _at(11, 0),
                bountyId=str(one),
                amount=5000,
                currency="USD",
            ),
            server(
                "bounty.assigned",
                poster,
                _at(12, 0) - timedelta(seconds=1),
                bountyId=str(two),
                amount=2500,
                currency="EUR",
            ),
            server(
                "bounty.completed",
                poster,
                _at(11, 30),
                bountyId=str(one),
                amount=5000,
                currency="USD",
            ),
            client("screen.viewed", hunter, _at(11, 40)),
        ],
    )
    return {"poster": poster, "hunter": hunter, "browser": browser}


async def _rollup_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return list(
            (
                await connection.execute(
                    text(
                        "SELECT metric, granularity, bucket_start, dimension, value, computed_at "
                        "FROM analytics_rollups ORDER BY 1, 2, 3, 4"
                    )
                )
            ).all()
        )


async def test_rollups_give_the_known_answers_and_a_rerun_changes_nothing(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    await _scenario(session_factory)
    hours = await rollups.rollup_window(session_factory, Granularity.HOUR, _at(9), _at(13))
    days = await rollups.rollup_window(
        session_factory, Granularity.DAY, DAY, DAY + timedelta(days=1)
    )
    assert hours > 0
    assert days > 0
    before = await _rollup_rows(engine)
    assert await rollups.rollup_window(session_factory, Granularity.HOUR, _at(9), _at(13)) == 0
    assert await rollups.rollup(session_factory, Granularity.DAY, DAY) == 0
    assert await _rollup_rows(engine) == before  # not even computed_at moved

    values = {(m, g, start, dim): value for m, g, start, dim, value, _ in before}
    H, D = "HOUR", "DAY"
    assert values[("active_users", H, _at(10), "")] == 3
    assert values[("active_users", H, _at(11), "")] == 2
    assert values[("active_users", H, _at(9), "")] == 0
    assert values[("signups", H, _at(10), "")] == 1
    assert values[("bounties_created", D, DAY, "")] == 2
    assert values[("bounties_funded", D, DAY, "")] == 2
    assert values[("bounties_accepted", H, _at(11), "")] == 2
    assert values[("bounties_completed", D, DAY, "")] == 1
    assert values[("gmv", D, DAY, "USD")] == 5000
    assert ("gmv", D, DAY, "EUR") not in values
    # Accepted 2 h and 2 h 59 min 59 s after publishing at 09:00: median 9,000 - 0.5 s.
    assert values[("median_seconds_to_accept", H, _at(11), "")] == round((7200 + 10799) / 2)
    assert values[("median_seconds_to_complete", D, DAY, "")] == 2 * 3600 + 30 * 60
    assert values[("active_users", D, DAY, "")] == 3
    assert values[("wau", D, DAY, "")] == 3
    assert values[("mau", D, DAY, "")] == 3
    assert ("wau", H, _at(10), "") not in values

    # A late fix in a past window (an event inserted there) is picked up by a re-run.
    async with session_factory() as session, session.begin():
        session.add(AnalyticsEvent(name="app.opened", user_id=uuid.uuid4(), received_at=_at(9, 15)))
    assert await rollups.rollup(session_factory, Granularity.HOUR, _at(9)) == 1
    after = {(m, g, start): value for m, g, start, _, value, _ in await _rollup_rows(engine)}
    assert after[("active_users", "HOUR", _at(9))] == 1

    admin = await create_user(session_factory, role=Role.ADMIN)
    token = token_for(settings, admin)
    series = await graphql(
        METRICS,
        {
            "metric": "ACTIVE_USERS",
            "from": _at(9).isoformat(),
            "to": _at(12).isoformat(),
            "granularity": "HOUR",
        },
        token=token,
    )
    assert [p["value"] for p in series["data"]["analyticsMetrics"]["points"]] == [1, 3, 2]
    gmv = await graphql(
        METRICS,
        {
            "metric": "GMV",
            "from": (DAY - timedelta(days=1)).isoformat(),
            "to": (DAY + timedelta(days=1)).isoformat(),
        },
        token=token,
    )
    assert [(p["dimension"], p["value"]) for p in gmv["data"]["analyticsMetrics"]["points"]] == [
        ("", 0),
        ("USD", 5000),
    ]
    median = await graphql(
        METRICS,
        {
            "metric": "MEDIAN_SECONDS_TO_ACCEPT",
            "from": _at(10).isoformat(),
            "to": _at(12).isoformat(),
            "granularity": "HOUR",
        },
        token=token,
    )
    assert [p["value"] for p in median["data"]["analyticsMetrics"]["points"]] == [None, 9000]
    funnel = await graphql(
        FUNNEL, {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}, token=token
    )
    assert funnel["data"]["analyticsFunnel"] == {
        "created": 2,
        "funded": 2,
        "accepted": 2,
        "completed": 1,
        "fundedRate": 1.0,
        "acceptedRate": 1.0,
        "completedRate": 0.5,
    }
    wrong = await graphql(
        METRICS,
        {"metric": "DAU", "from": DAY.isoformat(), "to": _at(5).isoformat(), "granularity": "HOUR"},
        token=token,
    )
    assert codes(wrong) == ["BAD_USER_INPUT"]


async def test_analytics_events_filter_and_page_in_one_statement(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
) -> None:
    world = await _scenario(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    token = token_for(settings, admin)
    query = """query ($filter: AnalyticsEventFilter, $first: Int) {
      analyticsEvents(filter: $filter, first: $first) { edges { node { name source userId } } }
    }"""
    body = await graphql(
        query, {"filter": {"userId": global_id("User", world["browser"].id)}}, token=token
    )
    assert [e["node"]["name"] for e in body["data"]["analyticsEvents"]["edges"]] == [
        "screen.viewed",
        "app.opened",
    ]
    body = await graphql(
        query, {"filter": {"names": ["bounty.open"], "source": "SERVER"}}, token=token
    )
    assert len(body["data"]["analyticsEvents"]["edges"]) == 2
    counts = []
    for size in (1, 10):
        sql_statements.statements.clear()
        body = await graphql(query, {"first": size}, token=token)
        assert len(body["data"]["analyticsEvents"]["edges"]) == size
        counts.append(sql_statements.count)
    assert counts[0] == counts[1]


async def test_track_events_stores_what_was_sent_and_ingest_can_be_switched_off(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    user = await create_user(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    token = token_for(settings, user)
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    naive = sent.replace(tzinfo=None).isoformat()  # no offset: taken as UTC
    batch = [
        {"name": "screen.viewed", "properties": {"screen": "home", "n": [1, 2]}},
        {"name": "app.opened", "clientTimestamp": sent.isoformat()},
        {"name": "tap", "properties": None, "clientTimestamp": naive},
    ]
    body = await graphql(TRACK, {"events": batch}, token=token)
    assert body["data"]["trackEvents"] == {"__typename": "TrackEventsSuccess", "accepted": 3}
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT name, source, user_id, properties, client_at FROM analytics_events "
                    "ORDER BY id"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("screen.viewed", "CLIENT", user.id, {"screen": "home", "n": [1, 2]}, None),
        ("app.opened", "CLIENT", user.id, {}, sent),
        ("tap", "CLIENT", user.id, {}, sent),
    ]
    update = """mutation ($input: UpdateSystemSettingInput!) {
      updateSystemSetting(input: $input) { __typename }
    }"""
    switched = await graphql(
        update,
        {"input": {"key": "analytics.ingest_enabled", "value": False, "expectedVersion": 0}},
        token=token_for(settings, admin),
    )
    assert switched["data"]["updateSystemSetting"]["__typename"] == "UpdateSystemSettingSuccess"
    body = await graphql(TRACK, {"events": batch[:2]}, token=token)
    assert body["data"]["trackEvents"] == {"__typename": "TrackEventsSuccess", "accepted": 2}
    assert await _count(engine, "SELECT count(*) FROM analytics_events") == 3
