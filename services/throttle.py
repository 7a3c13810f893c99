"""Throttling: counted sign-in failures, and GCRA rate limits (`consume`) for everything else.

Sign-in failures use fixed windows of attempts per key (account, client IP).

An attempt is counted before the password is checked, so concurrent guesses and 20 aliased
`signIn` fields in one document are each counted; a successful sign-in takes its own attempt
back (and clears the account's count). In process by default; Redis when REDIS_URL is set, so
every gateway instance shares the counts.

`consume` is the Generic Cell Rate Algorithm: one stored time per key (the theoretical arrival
time), `limit` units per `period` with bursts up to `limit`, a request costing `cost` units. It
is exact over any sliding period and needs no per-request history. Redis errors surface as
LimiterUnavailable; callers decide whether to fail open or closed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

from services.errors import DomainError

REDIS_PREFIX = "bountyexpo:throttle:"
_DECREMENT_IF_EXISTS = "if redis.call('exists', KEYS[1]) == 1 then redis.call('decr', KEYS[1]) end"


_GCRA = """
local period, interval, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = clock[1] * 1000 + clock[2] / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + cost * interval
if next_tat - period > now + 0.001 then
  return {0, tostring(next_tat - period - now), tostring(tat - now)}
end
-- At least 1 ms: with a huge limit the step is below a double's precision at this clock
-- value, next_tat equals now, and PX 0 is an error.
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.max(1, math.ceil(next_tat - now)))
return {1, '0', tostring(next_tat - now)}
"""


class LimiterUnavailable(DomainError):
    """The shared limiter (Redis) did not answer: refused where the policy fails closed."""

    code = "SERVICE_UNAVAILABLE"
    retry_after = 5

    def __init__(self) -> None:
        super().__init__("the rate limiter is unavailable; retry shortly")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until this request would be allowed (0 when allowed)
    remaining: int  # units left in the current burst

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after))


def _decision(
    allowed: bool, retry_ms: float, used_ms: float, limit: int, interval_ms: float
) -> Decision:
    remaining = max(0, math.floor(limit - used_ms / interval_ms)) if allowed else 0
    return Decision(allowed, retry_ms / 1000, remaining)


class Throttle(Protocol):
    async def hit(self, keys: Sequence[str], window_seconds: int) -> tuple[int, int]:
        """Count one attempt on each key; (the highest count, seconds until it resets)."""
        ...

    async def undo(self, key: str) -> None: ...

    async def reset(self, key: str) -> None: ...

    async def consume(self, key: str, *, limit: int, period: float, cost: int = 1) -> Decision:
        """Take `cost` of `limit` units per `period` seconds for `key` (GCRA), if available."""
        ...


class InProcessThrottle:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._arrivals: dict[str, float] = {}  # GCRA theoretical arrival times, in ms

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

    async def consume(self, key: str, *, limit: int, period: float, cost: int = 1) -> Decision:
        now = time.monotonic() * 1000
        if len(self._arrivals) > 100_000:
            self._arrivals = {k: v for k, v in self._arrivals.items() if v > now}
        period_ms, cost = period * 1000, min(cost, limit)
        interval = period_ms / limit
        tat = max(self._arrivals.get(key, now), now)
        next_tat = tat + cost * interval
        if next_tat - period_ms > now + 0.001:  # float slack: exactly at the limit is allowed
            return _decision(False, next_tat - period_ms - now, tat - now, limit, interval)
        self._arrivals[key] = next_tat
        return _decision(True, 0, next_tat - now, limit, interval)

    def clear(self) -> None:
        self._counts.clear()
        self._arrivals.clear()


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
        try:
            replies = await pipeline.execute()
        except RedisError as error:  # sign-in fails closed
            raise LimiterUnavailable from error
        highest, retry = 0, 0
        for index in range(len(keys)):
            count, _, ttl = replies[index * 3 : index * 3 + 3]
            if int(count) > highest:
                highest, retry = int(count), max(1, int(ttl))
        return highest, retry

    async def undo(self, key: str) -> None:
        # Only while the window lives: a bare DECR on an expired key would leave one without TTL.
        try:
            await self.client.eval(_DECREMENT_IF_EXISTS, 1, self.prefix + key)
        except RedisError as error:
            raise LimiterUnavailable from error

    async def reset(self, key: str) -> None:
        try:
            await self.client.delete(self.prefix + key)
        except RedisError as error:
            raise LimiterUnavailable from error

    async def consume(self, key: str, *, limit: int, period: float, cost: int = 1) -> Decision:
        period_ms, cost = period * 1000, min(cost, limit)
        interval = period_ms / limit
        try:
            allowed, retry, used = await self.client.eval(
                _GCRA, 1, self.prefix + "gcra:" + key, period_ms, interval, cost
            )
        except RedisError as error:
            raise LimiterUnavailable from error
        return _decision(bool(allowed), float(retry), float(used), limit, interval)
