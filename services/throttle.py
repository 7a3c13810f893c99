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

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import NoScriptError, RedisError

from services.errors import DomainError

REDIS_PREFIX = "bountyexpo:throttle:"
_DECREMENT_IF_EXISTS = "if redis.call('exists', KEYS[1]) == 1 then redis.call('decr', KEYS[1]) end"


# GCRA over one or more keys in one round trip: KEYS[i] takes ARGV[3i-2..3i] (period ms,
# interval ms, cost). Keys are taken in order and the first refusal stops there: later keys are
# not charged (a request refused per address spends none of its user's budget). The answer is one
# string, "allowed retry_ms used_ms" per key taken, joined by ";": one reply to parse, not nine.
_GCRA = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + clock[2] / 1000
local out = {}
for index, key in ipairs(KEYS) do
  local base = index * 3 - 3
  local period, interval = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local cost = tonumber(ARGV[base + 3])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local next_tat = tat + cost * interval
  if next_tat - period > now + 0.001 then
    out[index] = '0 ' .. tostring(next_tat - period - now) .. ' ' .. tostring(tat - now)
    return table.concat(out, ';')
  end
  -- At least 1 ms: with a huge limit the step is below a double's precision at this clock
  -- value, next_tat equals now, and PX 0 is an error.
  redis.call('SET', key, tostring(next_tat), 'PX', math.max(1, math.ceil(next_tat - now)))
  out[index] = '1 0 ' .. tostring(next_tat - now)
end
return table.concat(out, ';')
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


@dataclass(frozen=True, slots=True)
class Take:
    """`cost` of `limit` units per `period` seconds for `key` (one `consume`)."""

    key: str
    limit: int
    period: float
    cost: int = 1


class Throttle(Protocol):
    async def hit(self, keys: Sequence[str], window_seconds: int) -> tuple[int, int]:
        """Count one attempt on each key; (the highest count, seconds until it resets)."""
        ...

    async def undo(self, key: str) -> None: ...

    async def reset(self, key: str) -> None: ...

    async def consume(self, key: str, *, limit: int, period: float, cost: int = 1) -> Decision:
        """Take `cost` of `limit` units per `period` seconds for `key` (GCRA), if available."""
        ...

    async def consume_many(self, takes: Sequence[Take]) -> list[Decision | None]:
        """`consume` for each take in order, in one round trip; the first refusal stops there
        (its decision is the last one given, the rest are None and were not charged)."""
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
        return self._take(key, limit, period, cost)

    def _take(self, key: str, limit: int, period: float, cost: int) -> Decision:
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

    async def consume_many(self, takes: Sequence[Take]) -> list[Decision | None]:
        decisions: list[Decision | None] = [None] * len(takes)
        for index, take in enumerate(takes):
            decision = self._take(take.key, take.limit, take.period, take.cost)
            decisions[index] = decision
            if not decision.allowed:
                break
        return decisions

    def clear(self) -> None:
        self._counts.clear()
        self._arrivals.clear()


class RedisThrottle:
    def __init__(self, client: redis.Redis, prefix: str = REDIS_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        # EVALSHA (the script loaded once, again after a Redis restart or SCRIPT FLUSH): each
        # request sends its keys and numbers, not the script's text. SHA-1 is Redis's script id.
        self._gcra_sha = hashlib.sha1(_GCRA.encode(), usedforsecurity=False).hexdigest()

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
        [decision] = await self.consume_many([Take(key, limit, period, cost)])
        assert decision is not None  # the only take is always decided
        return decision

    async def consume_many(self, takes: Sequence[Take]) -> list[Decision | None]:
        keys: list[str] = []
        arguments: list[float] = []
        intervals: list[float] = []
        for take in takes:
            period_ms = take.period * 1000
            interval = period_ms / take.limit
            keys.append(self.prefix + "gcra:" + take.key)
            arguments += (period_ms, interval, min(take.cost, take.limit))
            intervals.append(interval)
        try:
            try:
                replies = await self.client.evalsha(self._gcra_sha, len(keys), *keys, *arguments)
            except NoScriptError:
                replies = await self.client.eval(_GCRA, len(keys), *keys, *arguments)
        except RedisError as error:
            raise LimiterUnavailable from error
        decisions: list[Decision | None] = [None] * len(takes)
        text = replies.decode() if isinstance(replies, bytes) else str(replies)
        for index, reply in enumerate(text.split(";")):
            allowed, retry, used = reply.split()
            decisions[index] = _decision(
                allowed == "1", float(retry), float(used), takes[index].limit, intervals[index]
            )
        return decisions
