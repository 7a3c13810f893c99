"""Sign-in throttling: fixed windows of attempts per key (account, client IP).

An attempt is counted before the password is checked, so concurrent guesses and 20 aliased
`signIn` fields in one document are each counted; a successful sign-in takes its own attempt
back (and clears the account's count). In process by default; Redis when REDIS_URL is set, so
every gateway instance shares the counts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as redis

REDIS_PREFIX = "bountyexpo:throttle:"
_DECREMENT_IF_EXISTS = "if redis.call('exists', KEYS[1]) == 1 then redis.call('decr', KEYS[1]) end"


class Throttle(Protocol):
    async def hit(self, keys: Sequence[str], window_seconds: int) -> tuple[int, int]:
        """Count one attempt on each key; (the highest count, seconds until it resets)."""
        ...

    async def undo(self, key: str) -> None: ...

    async def reset(self, key: str) -> None: ...


class InProcessThrottle:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def hit(self, keys: Sequence[str], window_seconds: int) -> tuple[int, int]:
        now = time.monotonic()
        if len(self._counts) > 100_000:  # bound memory under a spray of addresses
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        highest, retry = 0, 0
        for key in keys:
            count, resets_at = self._counts.get(key, (0, 0.0))
            if resets_at <= now:
                count, resets_at = 0, now + window_seconds
            self._counts[key] = (count + 1, resets_at)
            if count + 1 > highest:
                highest, retry = count + 1, max(1, round(resets_at - now))
        return highest, retry

    async def undo(self, key: str) -> None:
        count, resets_at = self._counts.get(key, (0, 0.0))
        if count > 0:
            self._counts[key] = (count - 1, resets_at)

    async def reset(self, key: str) -> None:
        self._counts.pop(key, None)

    def clear(self) -> None:
        self._counts.clear()


class RedisThrottle:
    def __init__(self, client: redis.Redis, prefix: str = REDIS_PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    async def hit(self, keys: Sequence[str], window_seconds: int) -> tuple[int, int]:
        pipeline = self.client.pipeline(transaction=True)
        for key in keys:
            pipeline.incr(self.prefix + key)
            pipeline.expire(self.prefix + key, window_seconds, nx=True)
            pipeline.ttl(self.prefix + key)
        replies = await pipeline.execute()
        highest, retry = 0, 0
        for index in range(len(keys)):
            count, _, ttl = replies[index * 3 : index * 3 + 3]
            if int(count) > highest:
                highest, retry = int(count), max(1, int(ttl))
        return highest, retry

    async def undo(self, key: str) -> None:
        # Only while the window lives: a bare DECR on an expired key would leave one without TTL.
        await self.client.eval(_DECREMENT_IF_EXISTS, 1, self.prefix + key)

    async def reset(self, key: str) -> None:
        await self.client.delete(self.prefix + key)
