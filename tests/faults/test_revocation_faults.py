"""Issue 15 item 1: a revoked token is refused at every moment of a Redis outage and after it,
on every gateway process, including after Redis comes back empty; when neither the in-memory
copy can be trusted nor PostgreSQL answers, authenticated requests fail closed (503)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from tests.app.test_access_tokens import ws_init
from tests.factories import create_user
from tests.faults.helpers import VIEWER, post, sign_out, signed_in, until
from tests.faults.proxy import postgres_proxy
from tests.faults.redis_process import redis_process
from tests.security.gateways import client_for, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.faults]


def answering(app: Starlette) -> str:
    status: Any = app.state.identity.denylist.status()
    return str(status.answering)


async def refused(client: httpx.AsyncClient, token: str) -> bool:
    response = await post(client, VIEWER, token)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 401


async def test_signed_out_tokens_stay_refused_through_a_redis_restart(
    database_url: str, session_factory: SessionFactory
) -> None:
    alice = await create_user(session_factory)
    bob = await create_user(session_factory)
    with redis_process() as redis:
        async with (
            running_app(database_url, redis_url=redis.url) as one,
            running_app(database_url, redis_url=redis.url) as two,
            client_for(one) as a,
            client_for(two) as b,
        ):
            await until(lambda: _both_memory(one, two), "both copies trusted")
            before = await signed_in(a, alice.email)
            during = await signed_in(a, bob.email)
            assert (await post(b, VIEWER, during)).status_code == 200
            await sign_out(a, before)
            # The other process learns it through the feed, and answers from memory.
            await until(lambda: refused(b, before), "process two refuses the signed-out token")
            assert answering(two) == "memory"

            redis.stop()
            # Redis is gone: the feed is down, so lookups go to PostgreSQL, which still answers.
            await until(lambda: _both_postgres(one, two), "both processes ask PostgreSQL")
            assert await refused(a, before)
            assert await refused(b, before)
            await sign_out(a, during)  # a revocation nobody can publish
            assert await refused(b, during)

            redis.start()  # empty: no subscriber, no message, nothing it held before
            checks = 0

            async def every_token_refused_and_trusted() -> bool:
                nonlocal checks
                for client in (a, b):
                    for token in (before, during):
                        assert await refused(client, token), (checks, token is before)
                        checks += 1
                return await _both_memory(one, two)

            await until(every_token_refused_and_trusted, "both copies trusted again")
            assert checks >= 4
            for client in (a, b):
                assert await refused(client, before)
                assert await refused(client, during)
            assert set(await _status_entries(one, two)) == {"memory"}


async def test_lookups_fail_closed_when_the_copy_is_stale_and_postgres_is_unreachable(
    database_url: str, session_factory: SessionFactory
) -> None:
    user = await create_user(session_factory)
    async with (
        postgres_proxy(database_url) as proxy,
        running_app(
            proxy.url,
            revocation_resync_seconds=0.05,
            revocation_staleness_seconds=0.2,
            db_connect_timeout_seconds=0.5,
        ) as app,
        client_for(app) as client,
    ):
        token = await signed_in(client, user.email)
        assert (await post(client, VIEWER, token)).status_code == 200
        proxy.cut()
        await until(lambda: _answering_is(app, "postgres"), "the copy goes stale")
        response = await post(client, VIEWER, token)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert error["extensions"]["retryAfter"] == 5
        assert response.json()["data"] is None
        # A socket's connection_init is refused with 1013, "try again later".
        assert await ws_init(app, token) == 1013
        # Anonymous requests that need neither are still served.
        info = await post(client, {"query": "{ serverInfo { environment } }"})
        assert info.json() == {"data": {"serverInfo": {"environment": "TEST"}}}
        proxy.restore()
        await until(lambda: _answering_is(app, "memory"), "the copy is reloaded")
        assert (await post(client, VIEWER, token)).status_code == 200
        assert await ws_init(app, token) == "connection_ack"


async def _answering_is(app: Starlette, source: str) -> bool:
    return answering(app) == source


async def _both_memory(one: Starlette, two: Starlette) -> bool:
    return answering(one) == answering(two) == "memory"


async def _both_postgres(one: Starlette, two: Starlette) -> bool:
    return answering(one) == answering(two) == "postgres"


async def _status_entries(one: Starlette, two: Starlette) -> list[str]:
    return [answering(one), answering(two)]
