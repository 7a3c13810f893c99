"""Moderation through the API: reporting (one open report per reporter and content), the
review queue, each resolution, removed content hidden from all but staff and its author,
reporters notified, everything audited."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import Review, Role, User, UserStatus
from app.settings import Settings
from tests.bounty_factories import insert_bounty
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for
from tests.realtime_helpers import conversation_between, send

pytestmark = pytest.mark.asyncio

REPORT = """mutation ($input: ReportContentInput!) {
  reportContent(input: $input) {
    __typename
    ... on ReportContentSuccess { report { id targetType targetId reason status author { id } } }
    ... on UserError { code field }
  }
}"""
RESOLVE = """mutation ($input: ResolveReportInput!) {
  resolveReport(input: $input) {
    __typename
    ... on ResolveReportSuccess { report { status action resolutionNote } }
    ... on UserError { code field }
  }
}"""
QUEUE = """query ($status: ReportStatus, $first: Int, $after: String) {
  contentReviewQueue(status: $status, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id targetType reason note reporter { displayName } author { displayName } } }
  }
}"""
BOUNTY = "query ($id: ID!) { bounty(id: $id) { title } }"
LIST = "{ bounties(first: 20) { totalCount edges { node { title } } } }"


async def _report(
    graphql: GraphQL,
    token: str,
    kind: str,
    target: str,
    reason: str = "SPAM",
    note: str | None = None,
) -> dict[str, Any]:
    body = await graphql(
        REPORT,
        {"input": {"targetType": kind, "targetId": target, "reason": reason, "note": note}},
        token=token,
    )
    result: dict[str, Any] = body["data"]["reportContent"]
    return result


async def _resolve(
    graphql: GraphQL, token: str, report: str, action: str, note: str | None = None
) -> Any:
    body = await graphql(
        RESOLVE, {"input": {"reportId": report, "action": action, "note": note}}, token=token
    )
    return body["data"]["resolveReport"]


async def _rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(text(sql))).all())


async def _world(session_factory: SessionFactory, settings: Settings) -> dict[str, Any]:
    poster = await create_user(session_factory, display_name="Poster")
    reporter = await create_user(session_factory, display_name="Reporter")
    other = await create_user(session_factory, display_name="Other")
    moderator = await create_user(session_factory, display_name="Mod", role=Role.MODERATOR)
    bounty = await insert_bounty(session_factory, poster, title="Buy my followers")
    return {
        "poster": poster,
        "reporter": reporter,
        "other": other,
        "moderator": moderator,
        "bounty": global_id("Bounty", bounty),
        "bounty_id": bounty,
        "tokens": {
            name: token_for(settings, user)
            for name, user in (
                ("poster", poster),
                ("reporter", reporter),
                ("other", other),
                ("moderator", moderator),
            )
        },
    }


async def test_one_open_report_per_reporter_and_content_and_refusals_change_nothing(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    w = await _world(session_factory, settings)
    t = w["tokens"]
    first = await _report(graphql, t["reporter"], "BOUNTY", w["bounty"], note="fake followers")
    assert first["__typename"] == "ReportContentSuccess"
    assert first["report"]["status"] == "OPEN"
    assert first["report"]["targetId"] == w["bounty"]
    assert first["report"]["author"] == {"id": global_id("User", w["poster"].id)}
    again = await _report(graphql, t["reporter"], "BOUNTY", w["bounty"])
    assert again == {
        "__typename": "AlreadyReportedError",
        "code": "ALREADY_REPORTED",
        "field": "input.targetId",
    }
    own = await _report(graphql, t["poster"], "BOUNTY", w["bounty"])
    assert own == {
        "__typename": "NotAllowedError",
        "code": "NOT_ALLOWED",
        "field": "input.targetId",
    }
    unknown = await _report(graphql, t["reporter"], "BOUNTY", global_id("Bounty", uuid.uuid4()))
    assert unknown["code"] == "NOT_FOUND"
    wrong_kind = await graphql(
        REPORT,
        {"input": {"targetType": "REVIEW", "targetId": w["bounty"], "reason": "SPAM"}},
        token=t["reporter"],
    )
    assert wrong_kind["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # Only the first report was stored, with its audit row.
    assert len(await _rows(engine, "SELECT id FROM content_reports")) == 1
    assert [r[0] for r in await _rows(engine, "SELECT action FROM audit_events")] == [
        "moderation.reported"
    ]
    # Someone else may report the same bounty; after a dismissal the reporter may report again.
    other = await _report(graphql, t["other"], "BOUNTY", w["bounty"])
    assert other["__typename"] == "ReportContentSuccess"
    dismissed = await _resolve(graphql, t["moderator"], first["report"]["id"], "DISMISS", "fine")
    assert dismissed == {
        "__typename": "ResolveReportSuccess",
        "report": {"status": "DISMISSED", "action": "DISMISS", "resolutionNote": "fine"},
    }
    twice = await _resolve(graphql, t["moderator"], first["report"]["id"], "DISMISS")
    assert twice == {"__typename": "ConflictError", "code": "CONFLICT", "field": "input.reportId"}
    anew = await _report(graphql, t["reporter"], "BOUNTY", w["bounty"])
    assert anew["__typename"] == "ReportContentSuccess"


async def test_the_queue_pages_oldest_first_in_one_statement(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
) -> None:
    w = await _world(session_factory, settings)
    reporters = [await create_user(session_factory, display_name=f"R{i}") for i in range(6)]
    for reporter in reporters:
        await _report(
            graphql,
            token_for(settings, reporter),
            "BOUNTY",
            w["bounty"],
            note=reporter.display_name,
        )
    token = w["tokens"]["moderator"]
    page = (await graphql(QUEUE, {"first": 4}, token=token))["data"]["contentReviewQueue"]
    assert [e["node"]["note"] for e in page["edges"]] == ["R0", "R1", "R2", "R3"]
    assert page["edges"][0]["node"]["reporter"] == {"displayName": "R0"}
    assert page["edges"][0]["node"]["author"] == {"displayName": "Poster"}
    rest = (
        await graphql(QUEUE, {"first": 4, "after": page["pageInfo"]["endCursor"]}, token=token)
    )["data"]["contentReviewQueue"]
    assert [e["node"]["note"] for e in rest["edges"]] == ["R4", "R5"]
    assert rest["pageInfo"]["hasNextPage"] is False
    counts = []
    for size in (1, 6):
        sql_statements.statements.clear()
        body = await graphql(QUEUE, {"first": size}, token=token)
        assert len(body["data"]["contentReviewQueue"]["edges"]) == size
        counts.append(sql_statements.count)
    assert counts[0] == counts[1]
    assert not any("count(*)" in statement for statement in sql_statements.statements)
    # totalCount, asked for: every report in the status, in the page's own statement.
    counted = QUEUE.replace("pageInfo {", "totalCount pageInfo {")
    for size in (1, 6):
        sql_statements.statements.clear()
        body = await graphql(counted, {"first": size}, token=token)
        assert body["data"]["contentReviewQueue"]["totalCount"] == 6
        assert sql_statements.count == counts[0]
    cursor = {"first": 4, "after": page["pageInfo"]["endCursor"]}
    assert (await graphql(counted, cursor, token=token))["data"]["contentReviewQueue"][
        "totalCount"
    ] == 6
    resolved = await graphql(counted, {"status": "RESOLVED"}, token=token)
    assert resolved["data"]["contentReviewQueue"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_removed_bounty_is_hidden_from_all_but_staff_and_its_poster(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    w = await _world(session_factory, settings)
    t = w["tokens"]
    one = await _report(graphql, t["reporter"], "BOUNTY", w["bounty"])
    two = await _report(graphql, t["other"], "BOUNTY", w["bounty"])
    removed = await _resolve(graphql, t["moderator"], one["report"]["id"], "REMOVE_CONTENT")
    assert removed["report"]["status"] == "RESOLVED"
    # Acting on the content closed both reports.
    assert sorted(r[0] for r in await _rows(engine, "SELECT status FROM content_reports")) == [
        "RESOLVED",
        "RESOLVED",
    ]
    for viewer, seen in (
        ("reporter", None),
        ("other", None),
        (None, None),
        ("poster", {"title": "Buy my followers"}),
        ("moderator", {"title": "Buy my followers"}),
    ):
        token = t[viewer] if viewer else None
        body = await graphql(BOUNTY, {"id": w["bounty"]}, token=token)
        assert body == {"data": {"bounty": seen}}, viewer
        listed = (await graphql(LIST, token=token))["data"]["bounties"]
        assert listed["totalCount"] == (0 if seen is None else 1), viewer
    # Reporters notified, the author told, all audited.
    jobs = await _rows(engine, "SELECT entrypoint, payload FROM pgqueuer ORDER BY id")
    created = [p for e, p in jobs if e == "notifications.create"]
    assert [(_type(p), _users(p)) for p in created] == [
        ("CONTENT_REMOVED", [str(w["poster"].id)]),
        ("REPORT_RESOLVED", sorted([str(w["reporter"].id), str(w["other"].id)])),
    ]
    actions = [r[0] for r in await _rows(engine, "SELECT action FROM audit_events ORDER BY id")]
    assert actions == ["moderation.reported", "moderation.reported", "moderation.resolved"]
    assert two["report"]["status"] == "OPEN"


def _type(payload: Any) -> str:
    import orjson

    return str(orjson.loads(payload)["type"])


def _users(payload: Any) -> list[str]:
    import orjson

    return list(orjson.loads(payload)["userIds"])


async def test_removed_message_review_and_profile_are_hidden(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory
) -> None:
    w = await _world(session_factory, settings)
    t = w["tokens"]
    poster, reporter = w["poster"], w["reporter"]
    conversation, _ = await conversation_between(
        graphql, session_factory, t["reporter"], poster, reporter
    )
    sent = await send(graphql, t["poster"], conversation, "send me your password", "c-1")
    await send(graphql, t["poster"], conversation, "hello", "c-2")
    message = sent["sent"]["id"]
    report = await _report(graphql, t["reporter"], "MESSAGE", message, reason="SCAM")
    # A stranger to the conversation cannot report (nor see) its messages.
    stranger = await _report(graphql, t["other"], "MESSAGE", message)
    assert stranger["code"] == "NOT_FOUND"
    await _resolve(graphql, t["moderator"], report["report"]["id"], "REMOVE_CONTENT")
    history = """query ($id: ID!) { messages(conversationId: $id) { edges { node { body } } } }"""
    seen_by_reporter = await graphql(history, {"id": conversation}, token=t["reporter"])
    assert [e["node"]["body"] for e in seen_by_reporter["data"]["messages"]["edges"]] == ["hello"]
    seen_by_author = await graphql(history, {"id": conversation}, token=t["poster"])
    assert [e["node"]["body"] for e in seen_by_author["data"]["messages"]["edges"]] == [
        "hello",
        "send me your password",
    ]

    # A review the poster wrote about the reporter.
    review_id = uuid.uuid4()
    async with session_factory() as session, session.begin():
        session.add(
            Review(
                id=review_id,
                bounty_id=w["bounty_id"],
                author_id=poster.id,
                subject_id=reporter.id,
                rating=1,
                text="awful person",
            )
        )
    review = await _report(
        graphql, t["reporter"], "REVIEW", global_id("Review", review_id), "ABUSE"
    )
    await _resolve(graphql, t["moderator"], review["report"]["id"], "REMOVE_CONTENT")
    reviews = "query ($id: ID!) { profile(id: $id) { reviews { text } } }"
    for viewer, expected in (
        ("other", []),
        ("reporter", []),
        ("poster", [{"text": "awful person"}]),
        ("moderator", [{"text": "awful person"}]),
    ):
        body = await graphql(reviews, {"id": global_id("User", reporter.id)}, token=t[viewer])
        assert body["data"]["profile"]["reviews"] == expected, viewer

    # The poster's profile.
    async with session_factory() as session, session.begin():
        row = await session.get(User, poster.id)
        assert row is not None
        row.bio = "DM me for cheap followers"
    profile = await _report(graphql, t["reporter"], "PROFILE", global_id("User", poster.id))
    await _resolve(graphql, t["moderator"], profile["report"]["id"], "REMOVE_CONTENT")
    query = "query ($id: ID!) { profile(id: $id) { bio profileRemoved } }"
    cases: tuple[tuple[str | None, str | None], ...] = (
        ("other", None),
        (None, None),
        ("poster", "DM me for cheap followers"),
        ("moderator", "DM me for cheap followers"),
    )
    for who, bio in cases:
        body = await graphql(
            query, {"id": global_id("User", poster.id)}, token=t[who] if who else None
        )
        assert body["data"]["profile"] == {"bio": bio, "profileRemoved": True}, who


async def test_warn_and_suspend_act_on_the_author_and_moderators_only_suspend_users(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    w = await _world(session_factory, settings)
    t = w["tokens"]
    warned = await _report(graphql, t["reporter"], "BOUNTY", w["bounty"])
    assert (await _resolve(graphql, t["moderator"], warned["report"]["id"], "WARN_USER"))["report"][
        "action"
    ] == "WARN_USER"
    jobs = [
        p
        for e, p in await _rows(engine, "SELECT entrypoint, payload FROM pgqueuer ORDER BY id")
        if e == "notifications.create"
    ]
    assert [_type(p) for p in jobs] == ["ACCOUNT_WARNING", "REPORT_RESOLVED"]

    suspend = await _report(graphql, t["other"], "BOUNTY", w["bounty"])
    done = await _resolve(graphql, t["moderator"], suspend["report"]["id"], "SUSPEND_USER")
    assert done["report"]["status"] == "RESOLVED"
    async with session_factory() as session:
        row = await session.get(User, w["poster"].id)
        assert row is not None
        assert row.status is UserStatus.SUSPENDED

    # A moderator cannot suspend an admin: the whole resolution is refused, the report stays open.
    admin = await create_user(session_factory, role=Role.ADMIN)
    admins_bounty = global_id("Bounty", await insert_bounty(session_factory, admin))
    report = await _report(graphql, t["reporter"], "BOUNTY", admins_bounty)
    refused = await _resolve(graphql, t["moderator"], report["report"]["id"], "SUSPEND_USER")
    assert refused["code"] == "NOT_ALLOWED"
    statuses = await _rows(engine, "SELECT status FROM content_reports ORDER BY created_at")
    assert statuses == [("RESOLVED",), ("RESOLVED",), ("OPEN",)]
