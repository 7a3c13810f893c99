"""Pub/sub for subscriptions: in-process by default, Redis when REDIS_URL is set.

With Redis, every gateway process holds one pub/sub connection and fans messages out to its own
subscribers, so an event published on one instance reaches sockets on all of them. Redis pub/sub
forgets what it could not deliver: when the connection comes back (redis-py subscribes again to
every live channel), each topic gets a `RECONNECTED` event, so stored streams catch up from the
database. Every event carries `publishedAt` (epoch seconds) for the publish-to-deliver latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import orjson
import redis.asyncio as redis

logger = logging.getLogger(__name__)

Event = dict[str, Any]
SUBSCRIBER_BUFFER = 256
CHANNEL_PREFIX = "bountyexpo:"
SUBSCRIBE_TIMEOUT_SECONDS = 2.0
PUBLISHED_AT = "publishedAt"
# Told to every topic after the pub/sub connection was lost and is back: events may be missing.
RECONNECTED: Event = {"kind": "brokerReconnected"}


def stamped(event: Event) -> Event:
    return event if PUBLISHED_AT in event else {**event, PUBLISHED_AT: time.time()}


class Broker(Protocol):
    async def publish(self, topic: str, event: Event) -> None: ...

    def subscribe(
        self, topic: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]: ...

    async def close(self) -> None: ...


class LocalFanout:
    """Subscriber queues of this process. A subscriber too slow to keep up loses oldest events."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)

    def deliver(self, topic: str, event: Event) -> None:
        for queue in self._queues.get(topic, ()):
            if queue.full():
                queue.get_nowait()
                logger.warning("subscriber of %s too slow: dropped its oldest event", topic)
            queue.put_nowait(event)

    def add(self, topic: str) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._queues[topic].add(queue)
        return queue

    def remove(self, topic: str, queue: asyncio.Queue[Event]) -> bool:
        """Forget `queue`; True when it was the topic's last subscriber here."""
        queues = self._queues.get(topic)
        if queues is None:
            return False
        queues.discard(queue)
        if queues:
            return False
        del self._queues[topic]
        return True

    def has(self, topic: str) -> bool:
        return topic in self._queues

    def topics(self) -> list[str]:
        return list(self._queues)


async def _drain(queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    while True:
        yield await queue.get()


class InProcessBroker:
    def __init__(self) -> None:
        self._fanout = LocalFanout()

    async def publish(self, topic: str, event: Event) -> None:
        self._fanout.deliver(topic, stamped(event))

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue = self._fanout.add(topic)
        try:
            yield _drain(queue)
        finally:
            self._fanout.remove(topic, queue)

    async def close(self) -> None:
        return None


class RedisBroker:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client  # public for health checks
        self._pubsub = client.pubsub()
        self._fanout = LocalFanout()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._connections = 0
        self._resubscribe = self._pubsub.on_connect
        self._pubsub.on_connect = self._on_connect  # type: ignore[method-assign]

    async def publish(self, topic: str, event: Event) -> None:
        await self.client.publish(CHANNEL_PREFIX + topic, orjson.dumps(stamped(event)))

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Event]]:
        async with self._lock:
            # Subscribe before registering the queue: if Redis refuses, nothing is left behind
            # and the next subscriber of the topic tries again.
            if not self._fanout.has(topic):
                await self._subscribe_confirmed(CHANNEL_PREFIX + topic)
            queue = self._fanout.add(topic)
        try:
            yield _drain(queue)
        finally:
            async with self._lock:
                if self._fanout.remove(topic, queue):
                    await self._pubsub.unsubscribe(CHANNEL_PREFIX + topic)

    async def _subscribe_confirmed(self, channel: str) -> None:
        """Return once Redis confirms, so an event published right after is not missed."""
        confirmed = self._confirmed[channel] = asyncio.Event()
        await self._pubsub.subscribe(channel)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")
        try:
            await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)
        finally:
            self._confirmed.pop(channel, None)

    async def _on_connect(self, connection: Any) -> None:
        """redis-py's own callback subscribes again to every channel it had; then we say so."""
        await self._resubscribe(connection)
        if self._connections:
            logger.warning("redis pub/sub reconnected: live topics subscribed again")
            for topic in self._fanout.topics():
                self._fanout.deliver(topic, RECONNECTED)
        self._connections += 1

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # redis-py leaves a connection the server closed looking connected: drop it, so
                # the next read connects again (and `_on_connect` subscribes again).
                logger.warning("redis pub/sub connection lost (%s); reconnecting", error)
                connection = self._pubsub.connection
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.disconnect()
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = message["channel"].decode()
            if message["type"] == "subscribe" and channel in self._confirmed:
                self._confirmed[channel].set()
            elif message["type"] == "message":
                topic = channel.removeprefix(CHANNEL_PREFIX)
                self._fanout.deliver(topic, orjson.loads(message["data"]))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self.client.aclose()


def redis_client(url: str) -> redis.Redis:
    # Short timeouts: an unreachable Redis must fail a call in well under a second, not 5 s.
    # redis-py's pool stops at 100 connections even when unbounded: give it an explicit number.
    return redis.Redis.from_url(
        url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        max_connections=200,
        health_check_interval=30,
    )


def create_broker(settings: Any, observe: Callable[[redis.Redis], None] | None = None) -> Broker:
    """Redis pub/sub when REDIS_URL is set (every process of every instance shares it)."""
    if settings.redis_url:
        client = redis_client(settings.redis_url)
        if observe is not None:
            observe(client)
        return RedisBroker(client)
    return InProcessBroker()
