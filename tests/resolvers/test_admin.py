"""Admin reads and settings through the API: finding users, one user's history, the audit log,
typed versioned settings; every list a constant number of statements whatever its length."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import RiskAssessment, RiskLevel, Role, UserStatus
from app.settings import Settings
from services import system_settings
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

ADMIN_USERS = """query ($search: String, $role: Role, $status: UserStatus, $risk: RiskLevel,
                  $first: Int, $after: String) {
  adminUsers(search: $search, role: $role, status: $status, riskLevel: $risk,
             first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { email role status user { displayName } risk { score level } } }
  }
}"""
SET_STATUS = """mutation ($input: SetUserStatusInput!) {
  setUserStatus(input: $input) { __typename }
}"""
UPDATE_SETTING = """mutation ($input: UpdateSystemSettingInput!) {
  updateSystemSetting(input: $input) {
    __typename
    ... on UpdateSystemSettingSuccess { setting { key value version } }
    ... on UserError { code field }
  }
}"""
SETTINGS = (
    "{ systemSettings { key type value defaultValue version history { version value previous } } }"
)


async def _assess(
    session_factory: SessionFactory, user_id: Any, score: int, level: RiskLevel
) -> None:
    async with session_factory() as session, session.begin():
        session.add(RiskAssessment(user_id=user_id, score=score, level=level, signals=[]))


async def test_admin_users_filters_and_pages(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN, email="boss@example.test")
    ann = await create_user(session_factory, display_name="Ann Smith", email="ann@example.test")
    bob = await create_user(
        session_factory,
        display_name="Bob",
        email="bob_smith@example.test",
        status=UserStatus.SUSPENDED,
    )
    await create_user(session_factory, display_name="Mo", role=Role.MODERATOR)
    await _assess(session_factory, ann.id, 62, RiskLevel.HIGH)
    await _assess(session_factory, bob.id, 10, RiskLevel.LOW)
    token = token_for(settings, admin)

    body = await graphql(ADMIN_USERS, {"search": "smith"}, token=token)
    found = body["data"]["adminUsers"]
    assert found["totalCount"] == 2
    assert [edge["node"] for edge in found["edges"]] == [
        {
            "email": "bob_smith@example.test",
            "role": "USER",
            "status": "SUSPENDED",
            "user": {"displayName": "Bob"},
            "risk": {"score": 10, "level": "LOW"},
        },
        {
            "email": "ann@example.test",
            "role": "USER",
            "status": "ACTIVE",
            "user": {"displayName": "Ann Smith"},
            "risk": {"score": 62, "level": "HIGH"},
        },
    ]
    # "_" is a literal underscore, not a LIKE wildcard.
    body = await graphql(ADMIN_USERS, {"search": "b_s"}, token=token)
    assert body["data"]["adminUsers"]["totalCount"] == 1
    body = await graphql(ADMIN_USERS, {"risk": "HIGH"}, token=token)
    assert [e["node"]["email"] for e in body["data"]["adminUsers"]["edges"]] == ["ann@example.test"]
    body = await graphql(ADMIN_USERS, {"status": "SUSPENDED"}, token=token)
    assert [e["node"]["email"] for e in body["data"]["adminUsers"]["edges"]] == [
        "bob_smith@example.test"
    ]
    body = await graphql(ADMIN_USERS, {"role": "MODERATOR"}, token=token)
    assert body["data"]["adminUsers"]["totalCount"] == 1

    # Pages of two over four users: the total stays that of the whole filter.
    first = (await graphql(ADMIN_USERS, {"first": 2}, token=token))["data"]["adminUsers"]
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    second = (
        await graphql(
            ADMIN_USERS, {"first": 2, "after": first["pageInfo"]["endCursor"]}, token=token
        )
    )["data"]["adminUsers"]
    assert second["totalCount"] == 4
    assert second["pageInfo"]["hasNextPage"] is False
    emails = [e["node"]["email"] for e in first["edges"] + second["edges"]]
    assert emails[-1] == "boss@example.test"
    assert len(set(emails)) == 4

    bad = await graphql(ADMIN_USERS, {"after": "garbage"}, token=token)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_admin_users_is_one_statement_whatever_the_page_size(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN)
    for _ in range(12):
        user = await create_user(session_factory)
        await _assess(session_factory, user.id, 30, RiskLevel.MEDIUM)
    token = token_for(settings, admin)
    counts = []
    for size in (1, 10):
        sql_statements.statements.clear()
        body = await graphql(ADMIN_USERS, {"first": size}, token=token)
        assert len(body["data"]["adminUsers"]["edges"]) == size
        counts.append(sql_statements.count)
    assert counts[0] == counts[1]


async def test_admin_user_shows_the_history_of_a_suspension(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN, display_name="Admin")
    user = await create_user(session_factory, display_name="Target")
    token = token_for(settings, admin)
    await graphql(
        SET_STATUS,
        {"input": {"userId": global_id("User", user.id), "status": "SUSPENDED"}},
        token=token,
    )
    body = await graphql(
        """query ($id: ID!) { adminUser(id: $id) {
             status user { displayName }
             auditEvents { action actor { displayName } detail }
             bounties { id }
        } }""",
        {"id": global_id("User", user.id)},
        token=token,
    )
    assert body == {
        "data": {
            "adminUser": {
                "status": "SUSPENDED",
                "user": {"displayName": "Target"},
                "auditEvents": [
                    {
                        "action": "user.status_changed",
                        "actor": {"displayName": "Admin"},
                        "detail": {"previous": "ACTIVE", "status": "SUSPENDED"},
                    }
                ],
                "bounties": [],
            }
        }
    }
    unknown = await graphql(
        "query ($id: ID!) { adminUser(id: $id) { email } }",
        {"id": global_id("User", "00000000-0000-0000-0000-000000000009")},
        token=token,
    )
    assert unknown == {"data": {"adminUser": None}}


async def test_audit_events_filter_by_action_prefix_actor_and_target(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN)
    one, two = await create_user(session_factory), await create_user(session_factory)
    token = token_for(settings, admin)
    for user in (one, two):
        await graphql(
            SET_STATUS,
            {"input": {"userId": global_id("User", user.id), "status": "SUSPENDED"}},
            token=token,
        )
    query = """query ($filter: AuditEventFilter, $first: Int, $after: String) {
      auditEvents(filter: $filter, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { action targetId } }
      }
    }"""
    body = await graphql(
        query,
        {"filter": {"actions": ["user."], "targetId": global_id("User", one.id)}},
        token=token,
    )
    assert [e["node"] for e in body["data"]["auditEvents"]["edges"]] == [
        {"action": "user.status_changed", "targetId": global_id("User", one.id)}
    ]
    page = (
        await graphql(
            query, {"filter": {"actions": ["user.status_changed"]}, "first": 1}, token=token
        )
    )["data"]["auditEvents"]
    assert page["edges"][0]["node"]["targetId"] == global_id("User", two.id)
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (
        await graphql(
            query,
            {
                "filter": {"actions": ["user.status_changed"]},
                "first": 5,
                "after": page["pageInfo"]["endCursor"],
            },
            token=token,
        )
    )["data"]["auditEvents"]
    assert [e["node"]["targetId"] for e in rest["edges"]] == [global_id("User", one.id)]
    body = await graphql(query, {"filter": {"actorId": global_id("User", one.id)}}, token=token)
    assert body["data"]["auditEvents"]["edges"] == []


async def test_settings_are_typed_versioned_audited_and_compare_and_set(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN)
    token = token_for(settings, admin)
    fee = system_settings.PLATFORM_FEE_BPS
    before = await graphql(SETTINGS, token=token)
    listed = {s["key"]: s for s in before["data"]["systemSettings"]}
    assert listed[fee] == {
        "key": fee,
        "type": "INT",
        "value": 1000,
        "defaultValue": 1000,
        "version": 0,
        "history": [],
    }
    # Wrong type, out of range, unknown key: refused, nothing stored.
    for value, code in (("ten", "INVALID_INPUT"), (True, "INVALID_INPUT"), (9000, "INVALID_INPUT")):
        body = await graphql(
            UPDATE_SETTING,
            {"input": {"key": fee, "value": value, "expectedVersion": 0}},
            token=token,
        )
        assert body["data"]["updateSystemSetting"] == {
            "__typename": "InvalidInputError",
            "code": code,
            "field": "input.value",
        }
    body = await graphql(
        UPDATE_SETTING, {"input": {"key": "no.such", "value": 1, "expectedVersion": 0}}, token=token
    )
    assert body["data"]["updateSystemSetting"]["code"] == "NOT_FOUND"
    async with engine.connect() as connection:
        assert (
            await connection.execute(text("SELECT count(*) FROM system_settings"))
        ).scalar() == 0

    # Warm the cache, then change: the change is visible at once in this process.
    assert await system_settings.value_of(session_factory, fee) == 1000
    ok = await graphql(
        UPDATE_SETTING, {"input": {"key": fee, "value": 750, "expectedVersion": 0}}, token=token
    )
    assert ok["data"]["updateSystemSetting"] == {
        "__typename": "UpdateSystemSettingSuccess",
        "setting": {"key": fee, "value": 750, "version": 1},
    }
    assert await system_settings.value_of(session_factory, fee) == 750
    # A stale version loses.
    stale = await graphql(
        UPDATE_SETTING, {"input": {"key": fee, "value": 500, "expectedVersion": 0}}, token=token
    )
    assert stale["data"]["updateSystemSetting"] == {
        "__typename": "ConflictError",
        "code": "CONFLICT",
        "field": "input.expectedVersion",
    }
    await graphql(
        UPDATE_SETTING, {"input": {"key": fee, "value": 500, "expectedVersion": 1}}, token=token
    )
    after = {s["key"]: s for s in (await graphql(SETTINGS, token=token))["data"]["systemSettings"]}
    assert after[fee]["value"] == 500
    assert after[fee]["version"] == 2
    assert after[fee]["history"] == [
        {"version": 2, "value": 500, "previous": 750},
        {"version": 1, "value": 750, "previous": 1000},
    ]
    audit = await graphql(
        '{ auditEvents(filter: {actions: ["admin.setting_changed"]}) '
        "{ edges { node { detail } } } }",
        token=token,
    )
    assert [e["node"]["detail"] for e in audit["data"]["auditEvents"]["edges"]] == [
        {"key": fee, "version": 2, "previous": 750, "value": 500},
        {"key": fee, "version": 1, "previous": 1000, "value": 750},
    ]


async def test_audit_events_are_one_statement_whatever_the_page_size(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN)
    token = token_for(settings, admin)
    for _ in range(8):
        user = await create_user(session_factory)
        await graphql(
            SET_STATUS,
            {"input": {"userId": global_id("User", user.id), "status": "SUSPENDED"}},
            token=token,
        )
    query = "query ($first: Int) { auditEvents(first: $first) { edges { node { actor { id } } } } }"
    counts = []
    for size in (1, 8):
        sql_statements.statements.clear()
        body = await graphql(query, {"first": size}, token=token)
        assert len(body["data"]["auditEvents"]["edges"]) == size
        counts.append(sql_statements.count)
    assert counts[0] == counts[1]
