"""Rate-limit policy: which bucket, how much, and what happens when Redis does not answer.

Buckets (limits from settings), all GCRA over the shared throttle (services/throttle.py):
- `ip`: every HTTP request and WebSocket handshake per client address (RateLimitMiddleware);
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
from dataclasses import dataclass
from time import monotonic
from typing import Any

from starlette.responses import Response

from app.monitoring.metrics import record_dependency_unavailable, record_rate_limiter_paused
from app.settings import Settings
from schema.errors import RATE_LIMITED, ApiError
from services.throttle import Decision, LimiterUnavailable, Throttle

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
            return await self._consume(bucket, key, cost)
        except LimiterUnavailable:
            if bucket.fail_open:
                return None
            raise

    async def _consume(self, bucket: Bucket, key: str, cost: int) -> Decision:
        if self.paused and (self._probing or monotonic() < self._paused_until):
            raise LimiterUnavailable
        probe = self.paused  # the pause is over: this request is the one probe
        if probe:
            self._probing = True
        try:
            decision = await self.throttle.consume(
                f"{bucket.name}:{key}", limit=bucket.limit, period=bucket.period, cost=cost
            )
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
        return decision

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
