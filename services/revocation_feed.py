"""Revocations told to every process as they happen, over Redis pub/sub.

Pub/sub delivers only to those listening: a process whose subscription dropped (Redis restarted,
the network failed) may have missed some. So `live_since` says when the subscription last became
live, and the cache (services/revocation_cache.py) trusts its copy only once it has reloaded from
PostgreSQL after that moment. redis-py's own silent reconnect is turned off for this connection
(a gap it papered over could hide a lost revocation), and a connection that goes quiet is caught
by a ping every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import orjson
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.revocation import Revocation

logger = logging.getLogger(__name__)
CHANNEL = "bountyexpo:revocations"
PING_SECONDS = 1.0
SILENCE_SECONDS = 3.0  # no message (not even a pong) for this long: the connection is dead
RETRY_SECONDS = 0.5
CLOSE_SECONDS = 1.0  # closing a subscription may take this long before it is abandoned


class RedisRevocationFeed:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.live_since: float | None = None

    async def publish(self, revocation: Revocation) -> None:
        await self.client.publish(CHANNEL, orjson.dumps(list(revocation)))

    async def run(
        self, deliver: Callable[[Revocation], None], reconnected: Callable[[], None]
    ) -> None:
        while True:
            try:
                await self._listen(deliver, reconnected)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self.live_since is not None:
                    logger.warning("revocation feed lost (%r): lookups go to PostgreSQL", error)
            self.live_since = None
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen(
        self, deliver: Callable[[Revocation], None], reconnected: Callable[[], None]
    ) -> None:
        pubsub = self.client.pubsub()
        retry = None
        try:
            await pubsub.subscribe(CHANNEL)
            connection = pubsub.connection
            if connection is not None:  # any failure from here on ends this subscription
                retry, connection.retry = connection.retry, Retry(NoBackoff(), 0)
            heard = pinged = time.monotonic()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    if message["type"] == "subscribe":
                        self.live_since = now
                        logger.info("revocation feed live")
                        reconnected()
                    elif message["type"] == "message":
                        deliver(Revocation(*orjson.loads(message["data"])))
                if now - heard > SILENCE_SECONDS:
                    raise ConnectionError(f"no answer from Redis for {SILENCE_SECONDS:g} s")
                if now - pinged > PING_SECONDS:
                    pinged = now
                    await pubsub.ping()
        finally:
            self.live_since = None
            if retry is not None and pubsub.connection is not None:
                pubsub.connection.retry = retry  # the connection goes back to the shared pool
            with contextlib.suppress(Exception):  # TimeoutError included: never hang a shutdown
                async with asyncio.timeout(CLOSE_SECONDS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
