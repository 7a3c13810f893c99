"""Notifications through the API: preferences and quiet hours pick exactly the right channels;
listing, read state and push tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.db.engine import SessionFactory
from app.db.models import NotificationType
from app.settings import Settings
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, token_for
from tests.notification_helpers import deliveries, notify, queued_jobs, register_device

pytestmark = pytest.mark.asyncio

UPDATE = """mutation ($input: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) {
    __typename
    ... on UpdateNotificationPreferencesSuccess {
      preferences { timeZone quietHours { start end } channels { type inApp push email } }
    }
    ... on UserError { code message field }
  }
}"""
LIST = """query ($unread: Boolean!) {
  notifications(first: 10, unreadOnly: $unread) { edges { node { id type title read data } } }
  unreadNotificationCount
}"""
T = NotificationType
# 03:00 in New York (EST, UTC-5): inside 22:00-07:00 quiet hours; 15:00 there is outside.
NIGHT = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
DAY = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)


async def test_preferences_and_quiet_hours_suppress_exactly_the_right_channels(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    token = token_for(settings, user)
    await register_device(session_factory, user, "prefs")
    body = await graphql(
        UPDATE,
        {
            "input": {
                "timeZone": "America/New_York",
                "quietHours": {"start": "22:00:00", "end": "07:00:00"},
                "channels": [
                    {"type": "WORK_SUBMITTED", "channel": "EMAIL", "enabled": True},
                    {"type": "APPLICATION_RECEIVED", "channel": "PUSH", "enabled": False},
                    {"type": "BOUNTY_EXPIRED", "channel": "IN_APP", "enabled": False},
                ],
            }
        },
        token=token,
    )
    prefs = body["data"]["updateNotificationPreferences"]["preferences"]
    assert prefs["timeZone"] == "America/New_York"
    assert prefs["quietHours"] == {"start": "22:00:00", "end": "07:00:00"}
    by_type = {row["type"]: row for row in prefs["channels"]}
    assert by_type["WORK_SUBMITTED"] == {
        "type": "WORK_SUBMITTED",
        "inApp": True,
        "push": True,
        "email": True,
    }
    assert by_type["APPLICATION_RECEIVED"]["push"] is False
    assert by_type["NEW_MESSAGE"] == {
        "type": "NEW_MESSAGE",
        "inApp": True,
        "push": True,
        "email": False,
    }

    # Daytime, WORK_SUBMITTED: in-app, push and (switched on) email.
    await notify(session_factory, user, type_=T.WORK_SUBMITTED, now=DAY)
    assert len(await deliveries(session_factory)) == 1
    assert await queued_jobs(session_factory) == ["notifications.push", "notifications.email"]
    # Night: the same type is stored and mailed, but not pushed.
    await notify(session_factory, user, type_=T.WORK_SUBMITTED, now=NIGHT)
    assert len(await deliveries(session_factory)) == 1
    assert (await queued_jobs(session_factory))[-1] == "notifications.email"
    # Push switched off for this type: in-app only (email is off by default for it), by day.
    await notify(session_factory, user, type_=T.APPLICATION_RECEIVED, now=DAY)
    assert len(await deliveries(session_factory)) == 1
    # In-app switched off: never listed, still pushed by day.
    await notify(session_factory, user, type_=T.BOUNTY_EXPIRED, now=DAY)
    assert len(await deliveries(session_factory)) == 2
    listed = await graphql(LIST, {"unread": False}, token=token)
    types = [edge["node"]["type"] for edge in listed["data"]["notifications"]["edges"]]
    assert types == ["APPLICATION_RECEIVED", "WORK_SUBMITTED", "WORK_SUBMITTED"]
    assert listed["data"]["unreadNotificationCount"] == 3


async def test_a_bad_time_zone_or_token_is_refused_and_changes_nothing(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    token = token_for(settings, user)
    body = await graphql(UPDATE, {"input": {"timeZone": "Mars/Olympus"}}, token=token)
    assert body["data"]["updateNotificationPreferences"] == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "unknown time zone 'Mars/Olympus'",
        "field": "input.timeZone",
    }
    register = """mutation ($input: RegisterPushTokenInput!) {
      registerPushToken(input: $input) { __typename ... on UserError { code field } }
    }"""
    for bad in ("abc", "ExponentPushToken[]", "APNS[123456789012]"):
        result = await graphql(
            register,
            {"input": {"token": bad, "platform": "IOS", "deviceId": "d1"}},
            token=token,
        )
        assert result["data"]["registerPushToken"] == {
            "__typename": "InvalidInputError",
            "code": "INVALID_INPUT",
            "field": "input.token",
        }
    await notify(session_factory, user)
    assert await deliveries(session_factory) == []  # no device was registered


async def test_one_row_per_device_and_reading_notifications(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    token = token_for(settings, user)
    register = """mutation ($input: RegisterPushTokenInput!) {
      registerPushToken(input: $input) { __typename }
    }"""
    for value in ("ExpoPushToken[first-token-aaaa]", "ExpoPushToken[second-token-bbbb]"):
        body = await graphql(
            register,
            {"input": {"token": value, "platform": "ANDROID", "deviceId": "phone"}},
            token=token,
        )
        assert body["data"]["registerPushToken"]["__typename"] == "RegisterPushTokenSuccess"
    [first, second] = await notify(session_factory, user, 2)
    rows = await deliveries(session_factory)
    assert len(rows) == 2  # one device: one push per notification, with its newest token
    read_one = """mutation ($id: ID!) {
      markNotificationRead(id: $id) {
        __typename ... on MarkNotificationReadSuccess { notification { read } }
        ... on UserError { code }
      }
    }"""
    listed = await graphql(LIST, {"unread": True}, token=token)
    ids = [edge["node"]["id"] for edge in listed["data"]["notifications"]["edges"]]
    assert len(ids) == 2
    body = await graphql(read_one, {"id": ids[0]}, token=token)
    assert body["data"]["markNotificationRead"] == {
        "__typename": "MarkNotificationReadSuccess",
        "notification": {"read": True},
    }
    stranger = token_for(settings, await create_user(session_factory))
    body = await graphql(read_one, {"id": ids[1]}, token=stranger)
    assert body["data"]["markNotificationRead"] == {
        "__typename": "NotFoundError",
        "code": "NOT_FOUND",
    }
    listed = await graphql(LIST, {"unread": True}, token=token)
    assert [edge["node"]["id"] for edge in listed["data"]["notifications"]["edges"]] == ids[1:]
    body = await graphql("mutation { markAllNotificationsRead { count } }", token=token)
    assert body["data"]["markAllNotificationsRead"] == {"count": 1}
    assert (await graphql(LIST, {"unread": True}, token=token))["data"] == {
        "notifications": {"edges": []},
        "unreadNotificationCount": 0,
    }
    assert first.seq + 1 == second.seq


async def test_total_count_is_counted_in_the_page_statement_when_asked(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
) -> None:
    user = await create_user(session_factory)
    token = token_for(settings, user)
    await notify(session_factory, user, 5)
    await notify(session_factory, await create_user(session_factory), 2)  # someone else's
    query = """query ($first: Int, $after: String, $unread: Boolean!) {
      notifications(first: $first, after: $after, unreadOnly: $unread) {
        totalCount pageInfo { endCursor } edges { node { id } }
      }
    }"""
    counts = []
    for size in (1, 5):
        sql_statements.statements.clear()
        body = await graphql(query, {"first": size, "unread": False}, token=token)
        assert body["data"]["notifications"]["totalCount"] == 5
        assert len(body["data"]["notifications"]["edges"]) == size
        counts.append(sql_statements.count)
    assert counts[0] == counts[1]
    page = (await graphql(query, {"first": 5, "unread": False}, token=token))["data"]
    end = page["notifications"]["pageInfo"]["endCursor"]
    past = await graphql(query, {"after": end, "unread": False}, token=token)
    assert past["data"]["notifications"]["edges"] == []
    assert past["data"]["notifications"]["totalCount"] == 5
    await graphql("mutation { markAllNotificationsRead { count } }", token=token)
    unread = await graphql(query, {"unread": True}, token=token)
    assert unread["data"]["notifications"]["totalCount"] == 0
    sql_statements.statements.clear()
    await graphql("{ notifications { edges { node { id } } } }", token=token)
    assert not any("count(*)" in statement for statement in sql_statements.statements)
    # Asked for inside a fragment, spread or inline, it is counted all the same.
    spread = """query { notifications { ...Total } }
      fragment Total on NotificationConnection { totalCount }"""
    inline = "{ notifications { ... on NotificationConnection { totalCount } } }"
    for document in (spread, inline):
        body = await graphql(document, token=token)
        assert body["data"]["notifications"]["totalCount"] == 5
