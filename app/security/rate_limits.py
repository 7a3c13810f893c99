"""Rate-limit policy: which bucket, how much, and what happens when Redis does not answer.

Buckets (limits from settings), all GCRA over the shared throttle (services/throttle.py):
- `ip`: every HTTP request and WebSocket handshake per client address (RateLimitMiddleware; for
  `/graphql` over HTTP the unit is taken by the operation guard in the same limiter call as the
  `user` bucket, one Redis round trip for both, or else when the response starts: `AddressLimit`);
- `user`: every operation of a signed-in user, in cost units (one unit per RATE_LIMIT_COST_UNIT
  of the operation's computed cost, at least one);
- `auth`: sign-up and password-reset requests per client address and per account (failed
  sign-ins have their own counter in services/sessions.py);
- `payments` and `events` (`trackEvents`): per user, for those mutations to call `enforce`.
When the limiter is unreachable, `ip` and `user` fail open (the request is served) and `auth` and
`payments` fail closed (SERVICE_UNAVAILABLE with `retryAfter`). After a failure the limiter pauses:
for OUTAGE_PAUSE_SECONDS Redis is not asked at all, so an outage costs one timeout, not one per
request. The pause ends on time whatever the traffic (requests refused by it do not extend it);
then one request at a time probes Redis, the others still treated as paused, and the first
answer ends the pause (a failed probe starts another). One warning is logged per pause, and the
state is the `bountyexpo_rate_limiter_paused` gauge and `rateLimiter` in /health/detailed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

from starlette.responses import Response

from app.monitoring.metrics import record_dependency_unavailable, record_rate_limiter_paused
from app.settings import Settings
from schema.errors import RATE_LIMITED, ApiError
from services.throttle import Decision, LimiterUnavailable, Take, Throttle

logger = logging.getLogger(__name__)
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
OUTAGE_PAUSE_SECONDS = 1.0


@dataclass(frozen=True)
class Bucket:
    name: str
    limit: int
    period: float
    fail_open: bool


def buckets(settings: Settings) -> dict[str, Bucket]:
    return {
        "ip": Bucket("ip", settings.rate_limit_ip_per_15min, 900, fail_open=True),
        "user": Bucket("user", settings.rate_limit_user_per_minute, 60, fail_open=True),
        "auth": Bucket("auth", settings.rate_limit_auth_per_15min, 900, fail_open=False),
        "payments": Bucket("payments", settings.rate_limit_payments_per_minute, 60, False),
        "events": Bucket("events", settings.rate_limit_events_per_minute, 60, fail_open=True),
    }


class RateLimiter:
    def __init__(self, settings: Settings, throttle: Throttle) -> None:
        self.enabled = settings.rate_limits
        self.buckets = buckets(settings)
        self.cost_unit = settings.rate_limit_cost_unit
        self.throttle = throttle
        self.paused = False
        self._paused_until = 0.0
        self._probing = False

    def units(self, cost: int) -> int:
        return max(1, -(-cost // self.cost_unit))

    async def check(self, bucket_name: str, key: str, cost: int = 1) -> Decision | None:
        """The decision for `key`, or None when limits are off or the limiter failed open."""
        if not self.enabled:
            return None
        bucket = self.buckets[bucket_name]
        try:
            return await self._consume_one(bucket, key, cost)
        except LimiterUnavailable:
            if bucket.fail_open:
                return None
            raise

    async def check_many(self, checks: Sequence[tuple[str, str, int]]) -> list[Decision | None]:
        """`check` for several (bucket, key, cost) in one limiter call (one Redis round trip),
        in order; the first refusal stops there: the checks after it are None, not charged.
        Fails open (all None) when every bucket does, else raises LimiterUnavailable."""
        if not self.enabled:
            return [None] * len(checks)
        named = [(self.buckets[name], key, cost) for name, key, cost in checks]
        takes = [Take(f"{b.name}:{key}", b.limit, b.period, cost) for b, key, cost in named]
        try:
            return await self._consume(takes)
        except LimiterUnavailable:
            if all(bucket.fail_open for bucket, _, _ in named):
                return [None] * len(checks)
            raise

    async def _consume_one(self, bucket: Bucket, key: str, cost: int) -> Decision:
        [decision] = await self._consume(
            [Take(f"{bucket.name}:{key}", bucket.limit, bucket.period, cost)]
        )
        assert decision is not None
        return decision

    async def _consume(self, takes: list[Take]) -> list[Decision | None]:
        if self.paused and (self._probing or monotonic() < self._paused_until):
            raise LimiterUnavailable
        probe = self.paused  # the pause is over: this request is the one probe
        if probe:
            self._probing = True
        try:
            if len(takes) == 1:
                take = takes[0]
                decisions: list[Decision | None] = [
                    await self.throttle.consume(
                        take.key, limit=take.limit, period=take.period, cost=take.cost
                    )
                ]
            else:
                decisions = await self.throttle.consume_many(takes)
        except LimiterUnavailable:
            self._pause()
            raise
        finally:
            if probe:
                self._probing = False
        if self.paused:
            self.paused = False
            record_rate_limiter_paused(False)
            logger.warning("rate limiter answering again: limits apply")
        return decisions

    def _pause(self) -> None:
        self._paused_until = monotonic() + OUTAGE_PAUSE_SECONDS
        if not self.paused:
            self.paused = True
            record_rate_limiter_paused(True)
            logger.warning(
                "rate limiter unavailable: ip, user and events buckets fail open, auth and "
                "payments fail closed; Redis is probed again in %.0f s",
                OUTAGE_PAUSE_SECONDS,
            )

    def state(self) -> str:
        if not self.enabled:
            return "off"
        if not self.paused:
            return "available"
        return "probing" if self._probing else "paused"

    async def enforce(self, bucket_name: str, key: str, cost: int = 1) -> Decision | None:
        """`check`, raising RATE_LIMITED (or SERVICE_UNAVAILABLE when failing closed)."""
        try:
            decision = await self.check(bucket_name, key, cost)
        except LimiterUnavailable as error:
            raise unavailable() from error
        if decision is not None and not decision.allowed:
            raise limited(decision)
        return decision


def limited(decision: Decision) -> ApiError:
    seconds = decision.retry_after_seconds
    return ApiError(f"rate limit exceeded; retry in {seconds} s", RATE_LIMITED, retryAfter=seconds)


def unavailable() -> ApiError:
    record_dependency_unavailable("redis")
    return ApiError(
        "the rate limiter is unavailable; retry shortly",
        SERVICE_UNAVAILABLE,
        retryAfter=LimiterUnavailable.retry_after,
    )


async def limit_request(context: Any, bucket_name: str, *keys: str) -> None:
    """For resolvers: count one request on `bucket_name` for each key (say the client address
    and the account); RATE_LIMITED or SERVICE_UNAVAILABLE, with Retry-After on HTTP."""
    security = getattr(context, "security", None)
    limiter = getattr(security, "rate_limiter", None)
    if not isinstance(limiter, RateLimiter):
        return
    try:
        for key in keys:
            await limiter.enforce(bucket_name, key)
    except ApiError as error:
        set_retry_after(context, error)
        raise


def set_retry_after(context: Any, error: ApiError) -> None:
    response = getattr(context, "response", None)
    retry_after = error.extensions.get("retryAfter")
    if isinstance(response, Response) and retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)


ADDRESS_LIMIT = "bountyexpo.address_limit"  # the scope key of an HTTP request's AddressLimit


class AddressLimit:
    """The `ip` bucket's unit of one HTTP request to `/graphql`, not yet taken.

    RateLimitMiddleware puts it in the scope instead of calling the limiter; the operation guard
    takes it together with the user's bucket (`RateLimiter.check_many`: one Redis round trip for
    both), and whatever did not reach the guard (a bad token, a parse error, CSRF) takes it
    when its response starts. A refusal, wherever decided, replaces the response with the
    middleware's 429 (`refusal`), and the guard runs nothing once the address is refused."""

    __slots__ = ("key", "refusal", "taken")

    def __init__(self, key: str) -> None:
        self.key = key
        self.taken = False
        self.refusal: Decision | None = None

    def take(self) -> str | None:
        """The key to charge, once: None when it was taken already."""
        if self.taken:
            return None
        self.taken = True
        return self.key


def address_limit(scope: Any) -> AddressLimit | None:
    limit = scope.get(ADDRESS_LIMIT) if isinstance(scope, dict) else None
    return limit if isinstance(limit, AddressLimit) else None
