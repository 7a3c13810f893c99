"""Issue 15 item 2: the limiter's pause ends on time whatever the traffic, one probe at a time
decides whether Redis is back, and the state shows in a metric and in /health/detailed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from app.security.rate_limits import OUTAGE_PAUSE_SECONDS, RateLimiter
from services.throttle import Decision, LimiterUnavailable, Take
from tests.conftest import make_settings
from tests.faults.helpers import post, until
from tests.faults.redis_process import redis_process
from tests.security.gateways import client_for, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.faults]
ALLOWED = Decision(allowed=True, retry_after=0, remaining=9)


class ScriptedThrottle:
    """Fails while `down`; counts the calls that reached it; `gate` holds a call in flight."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def consume(self, key: str, *, limit: int, period: float, cost: int = 1) -> Decision:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise LimiterUnavailable
        return ALLOWED

    async def consume_many(self, takes: Sequence[Take]) -> list[Decision | None]:
        return [
            await self.consume(t.key, limit=t.limit, period=t.period, cost=t.cost) for t in takes
        ]

    async def hit(self, keys: Sequence[str], window_seconds: int) -> tuple[int, int]:
        raise NotImplementedError

    async def undo(self, key: str) -> None:
        raise NotImplementedError

    async def reset(self, key: str) -> None:
        raise NotImplementedError


def paused_gauge() -> float | None:
    return REGISTRY.get_sample_value("bountyexpo_rate_limiter_paused")


async def test_the_pause_ends_on_time_under_steady_traffic_and_one_probe_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr("app.security.rate_limits.monotonic", lambda: clock[0])
    throttle = ScriptedThrottle()
    limiter = RateLimiter(make_settings(rate_limits=True), throttle)

    assert await limiter.check("ip", "a") is None  # fails open, and pauses
    assert (limiter.state(), throttle.calls, paused_gauge()) == ("paused", 1, 1.0)
    # A request every 0.1 s for the whole pause: none reaches Redis, none extends the pause.
    for _ in range(int(OUTAGE_PAUSE_SECONDS * 10) - 1):
        clock[0] += 0.1
        assert await limiter.check("ip", "a") is None
        with pytest.raises(LimiterUnavailable):
            await limiter.check("auth", "a")
    assert throttle.calls == 1
    clock[0] += 0.2  # past the pause: the next request probes, a failed probe pauses again
    assert await limiter.check("ip", "a") is None
    assert (limiter.state(), throttle.calls) == ("paused", 2)

    throttle.down = False
    clock[0] += OUTAGE_PAUSE_SECONDS + 0.01
    throttle.gate = asyncio.Event()
    probe = asyncio.create_task(limiter.check("auth", "probe"))
    await until(lambda: _is(limiter.state(), "probing"), "one request probes")
    # While the probe is out, the others do not call Redis: still treated as paused.
    assert await limiter.check("ip", "b") is None
    with pytest.raises(LimiterUnavailable):
        await limiter.check("auth", "c")
    assert throttle.calls == 3
    throttle.gate.set()
    assert await probe == ALLOWED
    assert (limiter.state(), paused_gauge()) == ("available", 0.0)
    assert await limiter.check("auth", "d") == ALLOWED
    assert throttle.calls == 4


async def _is(value: str, wanted: str) -> bool:
    return value == wanted


SIGN_UP = (
    "mutation ($input: SignUpInput!) { signUp(input: $input) "
    "{ __typename ... on UserError { code } } }"
)


async def test_sign_up_recovers_once_redis_is_back_while_traffic_continues(
    database_url: str,
) -> None:
    with redis_process() as redis:
        async with (
            running_app(database_url, redis_url=redis.url, rate_limits=True) as app,
            client_for(app) as client,
        ):
            limiter = app.state.monitoring.checks["rateLimiter"]
            redis.stop()
            number = 0

            async def sign_up() -> dict[str, object]:
                nonlocal number
                number += 1
                variables = {
                    "input": {
                        "email": f"r{number}@example.test",
                        "password": "a long passphrase",
                        "displayName": "R",
                    }
                }
                response = await post(client, {"query": SIGN_UP, "variables": variables})
                body: dict[str, object] = response.json()
                return body

            refused = await sign_up()
            assert refused["errors"][0]["extensions"] == {  # type: ignore[index]
                "code": "SERVICE_UNAVAILABLE",
                "retryAfter": 5,
            }
            assert (await limiter.check())["state"] == "paused"
            redis.start()

            async def served() -> bool:
                # Steady traffic while waiting: reads (fail open) and sign-ups (fail closed).
                assert (await post(client, {"query": "{ serverInfo { version } }"})).status_code
                body = await sign_up()
                return body.get("data") == {"signUp": {"__typename": "SignUpSuccess"}}

            await until(served, "a sign-up is served again")
            assert (await limiter.check()) == {"status": "ok", "state": "available"}
            detailed = (await client.get("/health/detailed")).json()
            assert detailed["checks"]["rateLimiter"] == {"status": "ok", "state": "available"}
