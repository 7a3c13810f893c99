"""Pub/sub: in-process by default; Redis delivers across gateway instances."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from app.broker import (
    PUBLISHED_AT,
    RECONNECTED,
    Event,
    InProcessBroker,
    RedisBroker,
    redis_client,
)
from tests.redis_server import private_redis

pytestmark = pytest.mark.asyncio


async def next_event(events: AsyncIterator[Event]) -> Event:
    """The next event without its `publishedAt` stamp (checked to be a recent epoch time)."""
    event = dict(await asyncio.wait_for(anext(events), timeout=5))
    published = event.pop(PUBLISHED_AT)
    assert isinstance(published, float)
    assert abs(time.time() - published) < 60
    return event


async def test_in_process_delivers_to_every_subscriber_of_the_topic() -> None:
    broker = InProcessBroker()
    async with (
        broker.subscribe("bounty:1") as first,
        broker.subscribe("bounty:1") as second,
        broker.subscribe("bounty:2") as other,
    ):
        await broker.publish("bounty:1", {"status": "OPEN"})
        assert await next_event(first) == {"status": "OPEN"}
        assert await next_event(second) == {"status": "OPEN"}
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(other), timeout=0.05)


async def test_in_process_publish_without_subscribers_is_a_no_op() -> None:
    await InProcessBroker().publish("nobody:listening", {"x": 1})


async def test_slow_subscriber_keeps_the_newest_events() -> None:
    broker = InProcessBroker()
    async with broker.subscribe("firehose") as events:
        for number in range(300):
            await broker.publish("firehose", {"n": number})
        assert await next_event(events) == {"n": 300 - 256}


async def test_redis_delivers_across_instances(redis_url: str) -> None:
    publisher = RedisBroker(redis_client(redis_url))
    subscriber = RedisBroker(redis_client(redis_url))
    try:
        async with subscriber.subscribe("messages:42") as events:
            await publisher.publish("messages:42", {"text": "hello", "n": 1})
            assert await next_event(events) == {"text": "hello", "n": 1}
    finally:
        await publisher.close()
        await subscriber.close()


async def test_redis_resubscribes_after_the_last_subscriber_left(redis_url: str) -> None:
    broker = RedisBroker(redis_client(redis_url))
    try:
        async with broker.subscribe("topic:a") as events:
            await broker.publish("topic:a", {"round": 1})
            assert await next_event(events) == {"round": 1}
        async with broker.subscribe("topic:a") as events:
            await broker.publish("topic:a", {"round": 2})
            assert await next_event(events) == {"round": 2}
    finally:
        await broker.close()


async def test_a_failed_redis_subscribe_leaves_nothing_behind(redis_url: str) -> None:
    """Regression: the queue was registered before Redis confirmed, so after one failure every
    later subscriber here thought the topic subscribed and the topic stayed dead."""
    broker = RedisBroker(redis_client(redis_url))
    real_subscribe = broker._pubsub.subscribe
    failures = [ConnectionError("Redis went away")]

    async def flaky(*channels: str) -> None:
        if failures:
            raise failures.pop()
        await real_subscribe(*channels)

    broker._pubsub.subscribe = flaky  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(ConnectionError):
            async with broker.subscribe("topic:flaky"):
                pass
        assert broker._fanout.topics() == []
        async with broker.subscribe("topic:flaky") as events:
            await broker.publish("topic:flaky", {"after": "failure"})
            assert await next_event(events) == {"after": "failure"}
    finally:
        await broker.close()


async def test_a_pubsub_reconnect_resubscribes_every_live_topic() -> None:
    with private_redis() as url:
        broker = RedisBroker(redis_client(url))
        admin = redis_client(url)
        try:
            async with broker.subscribe("topic:a") as a, broker.subscribe("topic:b") as b:
                await admin.client_kill_filter(_type="pubsub")
                # Both topics hear that events may have been missed, then get new ones.
                assert await next_raw(a) == RECONNECTED
                assert await next_raw(b) == RECONNECTED
                await broker.publish("topic:a", {"n": 1})
                await broker.publish("topic:b", {"n": 2})
                assert await next_event(a) == {"n": 1}
                assert await next_event(b) == {"n": 2}
        finally:
            await admin.aclose()
            await broker.close()


async def next_raw(events: AsyncIterator[Event]) -> Event:
    return await asyncio.wait_for(anext(events), timeout=10)
