"""Who has sockets open: the per-account socket cap, and "is this recipient online?".

In process by default (one gateway: the embedded worker shares it). With REDIS_URL, one sorted
set per account in Redis (socket id -> expiry), refreshed by every gateway while the socket
lives, so the cap and the online check hold across instances and a crashed instance's sockets
expire by themselves.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
PREFIX = "bountyexpo:sockets:"
TTL_SECONDS = 90.0  # refreshed every third of it

# Atomically: forget expired sockets, refuse past the cap, else add this one.
_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class Presence(Protocol):
    async def admit(self, user_id: uuid.UUID, socket_id: str, limit: int) -> bool: ...

    async def leave(self, user_id: uuid.UUID, socket_id: str) -> None: ...

    async def refresh(self, sockets: Sequence[tuple[uuid.UUID, str]]) -> None: ...

    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]: ...


class InProcessPresence:
    def __init__(self) -> None:
        self._sockets: dict[uuid.UUID, set[str]] = defaultdict(set)

    async def admit(self, user_id: uuid.UUID, socket_id: str, limit: int) -> bool:
        sockets = self._sockets[user_id]
        if len(sockets) >= limit:
            return False
        sockets.add(socket_id)
        return True

    async def leave(self, user_id: uuid.UUID, socket_id: str) -> None:
        sockets = self._sockets.get(user_id)
        if sockets is not None:
            sockets.discard(socket_id)
            if not sockets:
                del self._sockets[user_id]

    async def refresh(self, sockets: Sequence[tuple[uuid.UUID, str]]) -> None:
        return None

    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return {user_id for user_id in user_ids if self._sockets.get(user_id)}


# This process's sockets: the gateway's view and its embedded worker share it.
LOCAL = InProcessPresence()


class RedisPresence:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._admit = client.register_script(_ADMIT)

    async def admit(self, user_id: uuid.UUID, socket_id: str, limit: int) -> bool:
        now = time.time()
        try:
            admitted = await self._admit(
                keys=[PREFIX + str(user_id)],
                args=[now, limit, now + TTL_SECONDS, socket_id, int(TTL_SECONDS * 1000)],
            )
        except RedisError:  # fail open: a Redis outage must not lock everyone out of live updates
            logger.warning("Redis unavailable: socket admitted without the cap")
            return True
        return bool(admitted)

    async def leave(self, user_id: uuid.UUID, socket_id: str) -> None:
        try:
            await self.client.zrem(PREFIX + str(user_id), socket_id)
        except RedisError:
            logger.warning("Redis unavailable: socket %s expires by itself", socket_id)

    async def refresh(self, sockets: Sequence[tuple[uuid.UUID, str]]) -> None:
        if not sockets:
            return
        expiry = time.time() + TTL_SECONDS
        async with self.client.pipeline(transaction=False) as pipe:
            for user_id, socket_id in sockets:
                pipe.zadd(PREFIX + str(user_id), {socket_id: expiry})
                pipe.pexpire(PREFIX + str(user_id), int(TTL_SECONDS * 1000))
            await pipe.execute()

    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(user_ids)
        now = time.time()
        async with self.client.pipeline(transaction=False) as pipe:
            for user_id in wanted:
                pipe.zcount(PREFIX + str(user_id), now, "+inf")
            counts = await pipe.execute()
        return {user_id for user_id, count in zip(wanted, counts, strict=True) if count}


def presence_for(client: redis.Redis | None) -> Presence:
    return RedisPresence(client) if client is not None else LOCAL
