"""Rate limits: per address, per user in cost units, authentication, and Redis outages."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import Bounty, BountyStatus, LedgerPosting, RefreshToken, User
from app.security.rate_limits import RateLimiter
from app.settings import Settings
from schema.errors import ApiError
from services.throttle import REDIS_PREFIX, InProcessThrottle, RedisThrottle, Take
from tests.auth_helpers import count_rows
from tests.bounty_factories import PUBLISH, TEST_CARD, insert_bounty
from tests.conftest import make_settings
from tests.factories import PASSWORD, create_user, global_id, token_for
from tests.security.gateways import client_for, codes, gateway, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.rate_limits]

SERVER_INFO = {"query": "{ serverInfo { environment } }"}
VIEWER = {"query": "{ viewer { displayName } }"}
# A port nothing listens on: connections are refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def sign_up(email: str) -> dict[str, object]:
    return {
        "query": "mutation ($input: SignUpInput!) { signUp(input: $input) { __typename } }",
        "variables": {
            "input": {"email": email, "password": "a long passphrase", "displayName": "N"}
        },
    }


def sign_in(email: str, password: str) -> dict[str, object]:
    return {
        "query": "mutation ($input: SignInInput!) { signIn(input: $input) { __typename } }",
        "variables": {"input": {"email": email, "password": password}},
    }


async def test_per_address_limit_answers_429_with_retry_after(database_url: str) -> None:
    async with gateway(database_url, rate_limits=True, rate_limit_ip_per_15min=3) as client:
        for _ in range(3):
            assert (await client.post("/graphql", json=SERVER_INFO)).status_code == 200
        refused = await client.post("/graphql", json=SERVER_INFO)
        assert (await client.get("/health")).status_code == 200  # probes are never limited
    assert refused.status_code == 429
    # GCRA: one request's worth of the 15 minutes comes back first.
    assert refused.headers["retry-after"] == "300"
    assert refused.json() == {
        "errors": [
            {
                "message": "too many requests from this address; retry in 300 s",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": 300},
            }
        ]
    }


async def test_addresses_have_their_own_budgets(database_url: str) -> None:
    settings = {"rate_limits": True, "rate_limit_ip_per_15min": 1}
    async with running_app(database_url, **settings) as app:
        async with client_for(app, "10.0.0.1") as first:
            assert (await first.post("/graphql", json=SERVER_INFO)).status_code == 200
            assert (await first.post("/graphql", json=SERVER_INFO)).status_code == 429
        async with client_for(app, "10.0.0.2") as second:
            assert (await second.post("/graphql", json=SERVER_INFO)).status_code == 200


async def test_per_user_limit_counts_cost_units(
    database_url: str, session_factory: SessionFactory, settings: Settings
) -> None:
    alice = await create_user(session_factory)
    bob = await create_user(session_factory)
    limits: dict[str, Any] = {
        "rate_limits": True,
        "rate_limit_user_per_minute": 3,
        "rate_limit_cost_unit": 3,
    }
    async with gateway(database_url, **limits) as client:
        headers = {"authorization": f"Bearer {token_for(settings, alice)}"}
        # `viewer { displayName }` costs 3: one unit of the 3 a minute.
        for _ in range(3):
            ok = await client.post("/graphql", json=VIEWER, headers=headers)
            assert ok.json()["data"]["viewer"]["displayName"] is not None
        refused = await client.post("/graphql", json=VIEWER, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "20"
        assert refused.json()["errors"] == [
            {
                "message": "rate limit exceeded; retry in 20 s",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": 20},
            }
        ]
        assert refused.json()["data"] is None
        # Bob's budget is his own; anonymous clients are limited per address only.
        bob_headers = {"authorization": f"Bearer {token_for(settings, bob)}"}
        assert (await client.post("/graphql", json=VIEWER, headers=bob_headers)).status_code == 200
        assert (await client.post("/graphql", json=VIEWER)).status_code == 200
        # An operation costing 7 takes 3 units at once: all of Bob's remaining 2 are not enough.
        heavy = {"query": "{ viewer { displayName bio location email phone } }"}
        expensive = await client.post("/graphql", json=heavy, headers=bob_headers)
        assert codes(expensive.json()) == ["RATE_LIMITED"]


async def test_sign_ups_are_limited_per_address(database_url: str, engine: AsyncEngine) -> None:
    async with gateway(database_url, rate_limits=True) as client:
        started = time.monotonic()
        for index in range(5):
            body = (await client.post("/graphql", json=sign_up(f"n{index}@example.test"))).json()
            assert body["data"]["signUp"]["__typename"] == "SignUpSuccess"
        refused = await client.post("/graphql", json=sign_up("six@example.test"))
        elapsed = time.monotonic() - started
    assert codes(refused.json()) == ["RATE_LIMITED"]
    # 5 per 15 minutes: the next one is 180 s after the first, less the time the five took
    # (argon2 makes that seconds on a busy machine).
    assert 180 - math.ceil(elapsed) <= int(refused.headers["retry-after"]) <= 180
    assert await count_rows(engine, User) == 5


async def test_redis_outage_fails_open_for_reads_and_closed_for_auth(
    database_url: str, session_factory: SessionFactory, settings: Settings, engine: AsyncEngine
) -> None:
    user = await create_user(session_factory, display_name="Still Here")
    token = token_for(settings, user)
    async with gateway(database_url, redis_url=DEAD_REDIS, rate_limits=True) as client:
        anonymous = await client.post("/graphql", json=SERVER_INFO)
        signed_in = await client.post(
            "/graphql", json=VIEWER, headers={"authorization": f"Bearer {token}"}
        )
        signing_in = await client.post("/graphql", json=sign_in(user.email, PASSWORD))
        signing_up = await client.post("/graphql", json=sign_up("new@example.test"))
    assert anonymous.json() == {"data": {"serverInfo": {"environment": "TEST"}}}
    # The denylist is read from PostgreSQL while Redis is down: served, and still checked.
    assert signed_in.json() == {"data": {"viewer": {"displayName": "Still Here"}}}
    for refused in (signing_in, signing_up):
        [error] = refused.json()["errors"]
        assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE", "retryAfter": 5}
        assert refused.headers["retry-after"] == "5"
    assert await count_rows(engine, User) == 1
    assert await count_rows(engine, RefreshToken) == 0


async def test_revoked_tokens_stay_revoked_while_redis_is_down(
    database_url: str,
    session_factory: SessionFactory,
    settings: Settings,
    redis_url: str,
) -> None:
    user = await create_user(session_factory)
    async with gateway(database_url, redis_url=redis_url) as client:
        signed_in = await client.post("/graphql", json=sign_in(user.email, PASSWORD))
        assert signed_in.json()["data"]["signIn"]["__typename"] == "SignInSuccess"
        session = await client.post(
            "/graphql",
            json={
                **sign_in(user.email, PASSWORD),
                "query": "mutation ($input: SignInInput!) { signIn(input: $input) "
                "{ ... on SignInSuccess { session { accessToken } } } }",
            },
        )
        token = session.json()["data"]["signIn"]["session"]["accessToken"]
        headers = {"authorization": f"Bearer {token}"}
        out = await client.post(
            "/graphql", json={"query": "mutation { signOut { __typename } }"}, headers=headers
        )
        assert out.json()["data"]["signOut"]["__typename"] == "SignOutSuccess"
    async with gateway(database_url, redis_url=DEAD_REDIS) as client:
        refused = await client.post("/graphql", json=VIEWER, headers=headers)
    assert refused.status_code == 401
    assert codes(refused.json()) == ["UNAUTHENTICATED"]


async def test_limits_are_shared_through_redis(database_url: str, redis_url: str) -> None:
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    settings = {"redis_url": redis_url, "rate_limits": True, "rate_limit_ip_per_15min": 2}
    try:
        async with gateway(database_url, client_address=address, **settings) as one:
            assert (await one.post("/graphql", json=SERVER_INFO)).status_code == 200
            async with gateway(database_url, client_address=address, **settings) as two:
                assert (await two.post("/graphql", json=SERVER_INFO)).status_code == 200
                assert (await two.post("/graphql", json=SERVER_INFO)).status_code == 429
            assert (await one.post("/graphql", json=SERVER_INFO)).status_code == 429
    finally:
        client = redis.Redis.from_url(redis_url)
        await client.delete(f"bountyexpo:throttle:gcra:ip:{address}")
        await client.aclose()


async def test_gcra_allows_a_burst_then_one_unit_per_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("services.throttle.time.monotonic", lambda: clock[0])
    throttle = InProcessThrottle()
    decisions = [await throttle.consume("k", limit=3, period=60) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].retry_after == pytest.approx(20)
    clock[0] += 20  # one interval later, one unit is back
    assert (await throttle.consume("k", limit=3, period=60)).allowed
    assert not (await throttle.consume("k", limit=3, period=60)).allowed
    assert not (await throttle.consume("k", limit=3, period=60, cost=2)).allowed
    assert (await throttle.consume("other", limit=3, period=60, cost=3)).allowed


@pytest.mark.parametrize(
    ("bucket", "outcome"),
    [
        ("ip", None),
        ("user", None),
        ("events", None),
        ("auth", "SERVICE_UNAVAILABLE"),
        ("payments", "SERVICE_UNAVAILABLE"),
    ],
)
async def test_unreachable_limiter_fails_open_or_closed_per_bucket(
    bucket: str, outcome: str | None
) -> None:
    client = redis.Redis.from_url(DEAD_REDIS)
    limiter = RateLimiter(make_settings(rate_limits=True), RedisThrottle(client))
    try:
        if outcome is None:
            assert await limiter.enforce(bucket, "someone") is None
        else:
            with pytest.raises(ApiError) as refused:
                await limiter.enforce(bucket, "someone")
            assert (refused.value.code, refused.value.extensions) == (outcome, {"retryAfter": 5})
    finally:
        await client.aclose()


async def test_money_moving_mutations_are_limited_per_user(
    database_url: str, session_factory: SessionFactory, settings: Settings, engine: AsyncEngine
) -> None:
    poster = await create_user(session_factory)
    drafts = [
        await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT) for _ in range(3)
    ]
    headers = {"authorization": f"Bearer {token_for(settings, poster)}"}

    def publish(bounty_id: uuid.UUID) -> dict[str, object]:
        key = f"publish-{bounty_id}"
        variables = {
            "input": {
                "bountyId": global_id("Bounty", bounty_id),
                "idempotencyKey": key,
                "paymentMethodId": TEST_CARD,
            }
        }
        return {"query": PUBLISH, "variables": variables}

    limits: dict[str, Any] = {"rate_limits": True, "rate_limit_payments_per_minute": 2}
    async with gateway(database_url, **limits) as client:
        for bounty_id in drafts[:2]:
            body = (await client.post("/graphql", json=publish(bounty_id), headers=headers)).json()
            assert body["data"]["publishBounty"]["__typename"] == "PublishBountySuccess", body
        refused = await client.post("/graphql", json=publish(drafts[2]), headers=headers)
    assert codes(refused.json()) == ["RATE_LIMITED"]
    assert int(refused.headers["retry-after"]) > 0
    assert await count_rows(engine, LedgerPosting) == 2  # the third funding never happened
    async with session_factory() as session:
        third = await session.get(Bounty, drafts[2])
    assert third is not None
    assert third.status is BountyStatus.DRAFT


async def test_redis_gcra_takes_limits_finer_than_the_clock(redis_url: str) -> None:
    """A limit so large that one step is below a double's precision at today's clock (ms since
    1970) made the script set an expiry of 0 ms, which Redis refuses: every call then failed."""
    client = redis.Redis.from_url(redis_url)
    key = f"test-{uuid.uuid4().hex}"
    try:
        throttle = RedisThrottle(client)
        decisions = [await throttle.consume(key, limit=10**9, period=60) for _ in range(3)]
        assert [decision.allowed for decision in decisions] == [True, True, True]
        assert await client.pttl(throttle.prefix + "gcra:" + key) >= 0
    finally:
        await client.delete(RedisThrottle(client).prefix + "gcra:" + key)
        await client.aclose()


async def test_address_and_user_buckets_are_one_limiter_call_per_request(
    database_url: str,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 17: a signed-in request takes its address's and its user's units together (one
    Redis round trip with REDIS_URL), in that order, and an anonymous one only the address's."""
    calls: list[list[str]] = []
    consume_many = InProcessThrottle.consume_many
    consume = InProcessThrottle.consume

    async def counted_many(self: InProcessThrottle, takes: Any) -> Any:
        calls.append([take.key for take in takes])
        return await consume_many(self, takes)

    async def counted(self: InProcessThrottle, key: str, **kwargs: Any) -> Any:
        calls.append([key])
        return await consume(self, key, **kwargs)

    user = await create_user(session_factory)
    headers = {"authorization": f"Bearer {token_for(settings, user)}"}
    async with gateway(database_url, rate_limits=True, client_address="10.7.0.1") as client:
        monkeypatch.setattr(InProcessThrottle, "consume_many", counted_many)
        monkeypatch.setattr(InProcessThrottle, "consume", counted)
        assert (await client.post("/graphql", json=VIEWER, headers=headers)).status_code == 200
        assert (await client.post("/graphql", json=SERVER_INFO)).status_code == 200
    assert calls == [["ip:10.7.0.1", f"user:{user.id}"], ["ip:10.7.0.1"]]


async def test_requests_refused_before_the_guard_still_count_per_address(
    database_url: str,
) -> None:
    """A bad token, a syntax error: nothing reaches the operation guard, and the address's unit
    is taken as the response starts; over the limit, the response is the address's 429."""
    bad_token = {"authorization": "Bearer not-a-token"}
    async with gateway(database_url, rate_limits=True, rate_limit_ip_per_15min=2) as client:
        assert (await client.post("/graphql", json=VIEWER, headers=bad_token)).status_code == 401
        broken = await client.post("/graphql", json={"query": "{ serverInfo "})
        assert codes(broken.json()) == ["GRAPHQL_PARSE_FAILED"]
        refused = await client.post("/graphql", json=VIEWER, headers=bad_token)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "450"
    assert refused.json() == {
        "errors": [
            {
                "message": "too many requests from this address; retry in 450 s",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": 450},
            }
        ]
    }


async def test_a_refused_address_runs_nothing(database_url: str, engine: AsyncEngine) -> None:
    async with gateway(database_url, rate_limits=True, rate_limit_ip_per_15min=1) as client:
        assert (await client.post("/graphql", json=SERVER_INFO)).status_code == 200
        refused = await client.post("/graphql", json=sign_up("late@example.test"))
    assert refused.status_code == 429
    assert codes(refused.json()) == ["RATE_LIMITED"]
    assert "data" not in refused.json()
    assert await count_rows(engine, User) == 0


@pytest.mark.parametrize("store", ["process", "redis"])
async def test_consume_many_stops_at_the_first_refusal(store: str, request: Any) -> None:
    client = None
    if store == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    throttle = InProcessThrottle() if client is None else RedisThrottle(client)
    first, second = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    try:
        takes = [Take(first, 1, 60), Take(second, 5, 60)]
        allowed = await throttle.consume_many(takes)
        assert [(d.allowed, d.remaining) for d in allowed if d] == [(True, 0), (True, 4)]
        refused = await throttle.consume_many(takes)
        assert refused[1] is None  # not charged: the first refused
        assert refused[0] is not None
        assert not refused[0].allowed
        assert refused[0].retry_after == pytest.approx(60, abs=0.5)
        assert (await throttle.consume(second, limit=5, period=60)).remaining == 3
    finally:
        if client is not None:
            await client.delete(*(f"{REDIS_PREFIX}gcra:{key}" for key in (first, second)))
            await client.aclose()
