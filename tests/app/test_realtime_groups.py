"""Grouped fan-out: one resolution per group and event, identity-dependent documents apart, and
memory that does not grow with the events a socket receives."""

from __future__ import annotations

import gc
import resource
from typing import Any

import pytest
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.realtime import hub as hub_module
from app.realtime.resolve import resolve_event
from app.settings import Settings
from services.bounties.lifecycle import topic
from tests.bounty_factories import insert_bounty
from tests.factories import create_user, global_id, token_for
from tests.realtime_helpers import (
    LEGACY,
    TRANSPORT,
    data_of,
    hub_of,
    receive,
    signed_in_socket,
    subscribe,
    until_members,
)

pytestmark = pytest.mark.asyncio

WATCH = """subscription ($id: ID!) { bountyUpdated(id: $id) { status bounty { title } } }"""
WATCH_EMAIL = """subscription ($id: ID!) {
  bountyUpdated(id: $id) { status bounty { poster { email } } }
}"""
LIGHT = "subscription ($id: ID!) { bountyUpdated(id: $id) { status previousStatus } }"


class Resolutions:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, *args: Any) -> Any:
        self.count += 1
        return await resolve_event(*args)


def _event(status: str = "ASSIGNED") -> dict[str, Any]:
    return {"status": status, "previousStatus": "OPEN", "at": "2026-01-01T00:00:00+00:00"}


async def test_one_resolution_per_group_and_the_same_data_for_all(
    app: Starlette,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poster = await create_user(session_factory)
    strangers = [await create_user(session_factory) for _ in range(3)]
    bounty_id = await insert_bounty(session_factory, poster, title="Fix the sink")
    variables = {"id": global_id("Bounty", bounty_id)}
    counting = Resolutions()
    monkeypatch.setattr(hub_module, "resolve_event", counting)
    hub = hub_of(app)
    async with (
        signed_in_socket(app, TRANSPORT, token_for(settings, strangers[0])) as a,
        signed_in_socket(app, LEGACY, token_for(settings, strangers[1])) as b,
        signed_in_socket(app, TRANSPORT, token_for(settings, strangers[2])) as c,
        signed_in_socket(app, TRANSPORT, token_for(settings, poster)) as own,
    ):
        for ws, protocol in ((a, TRANSPORT), (b, LEGACY), (c, TRANSPORT), (own, TRANSPORT)):
            await subscribe(ws, protocol, "w", WATCH, variables)
        await until_members(app, topic(bounty_id), 4)
        groups = [g for g in hub.groups.values() if g.live.topic == topic(bounty_id)]
        assert sorted(len(g.members) for g in groups) == [1, 3]  # strangers, and the poster
        await hub.broker.publish(topic(bounty_id), _event())
        expected = {"bountyUpdated": {"status": "ASSIGNED", "bounty": {"title": "Fix the sink"}}}
        for ws, protocol in ((a, TRANSPORT), (b, LEGACY), (c, TRANSPORT), (own, TRANSPORT)):
            assert data_of(await receive(ws), protocol) == expected
        assert counting.count == 2  # once per group, not once per socket


async def test_a_document_that_shows_the_viewers_own_data_is_grouped_per_user(
    app: Starlette, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory, email="owner@example.test")
    admin_free = [await create_user(session_factory) for _ in range(2)]
    bounty_id = await insert_bounty(session_factory, poster)
    variables = {"id": global_id("Bounty", bounty_id)}
    async with (
        signed_in_socket(app, TRANSPORT, token_for(settings, admin_free[0])) as a,
        signed_in_socket(app, TRANSPORT, token_for(settings, admin_free[1])) as b,
    ):
        for ws in (a, b):
            await subscribe(ws, TRANSPORT, "w", WATCH_EMAIL, variables)
        await until_members(app, topic(bounty_id), 2)
        groups = [g for g in hub_of(app).groups.values() if g.live.topic == topic(bounty_id)]
        assert [len(g.members) for g in groups] == [1, 1]
        await hub_of(app).broker.publish(topic(bounty_id), _event())
        for ws in (a, b):
            shown = data_of(await receive(ws), TRANSPORT)["bountyUpdated"]["bounty"]["poster"]
            assert shown == {"email": None}  # neither is the poster


def _tracked_and_rss() -> tuple[int, int]:
    gc.collect()
    return len(gc.get_objects()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def test_memory_stays_flat_over_a_thousand_events_on_one_socket(
    app: Starlette, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    bounty_id = await insert_bounty(session_factory, poster)
    broker = hub_of(app).broker
    async with signed_in_socket(app, TRANSPORT, token_for(settings, poster)) as ws:
        await subscribe(ws, TRANSPORT, "w", LIGHT, {"id": global_id("Bounty", bounty_id)})
        await until_members(app, topic(bounty_id), 1)

        async def events(count: int) -> None:
            for _ in range(count):
                await broker.publish(topic(bounty_id), _event())
                assert data_of(await receive(ws), TRANSPORT)["bountyUpdated"]["status"] == (
                    "ASSIGNED"
                )

        await events(100)  # warm up: caches, metrics children, first-use allocations
        objects_before, rss_before = _tracked_and_rss()
        await events(900)
        objects_after, rss_after = _tracked_and_rss()
    # Growing per event (graphql-core's shared field-collection cache did) would be 900+ here.
    assert objects_after - objects_before < 300, (objects_before, objects_after)
    assert rss_after - rss_before < 4 * 1024, (rss_before, rss_after)  # KiB: peak RSS
