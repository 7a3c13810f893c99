"""What authentication costs per request: anonymous vs Bearer token, PostgreSQL vs Redis denylist.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.auth_overhead

In process over ASGI (no sockets), so the figures are server CPU plus one round trip to the
denylist store. Prints microseconds per request for each configuration.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx

from app.db.models import Role
from app.main import create_app
from app.security.jwt import issue_access_token
from app.settings import Environment, Settings
from tests import databases

REQUESTS = 400
QUERY = {"query": "{ serverInfo { version } }"}


async def measure(settings: Settings, url: str, token: str | None) -> float:
    app = create_app(settings, database_url=url)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://b") as client,
    ):
        for _ in range(50):  # warm up caches and the pool
            await client.post("/graphql", json=QUERY, headers=headers)
        started = time.perf_counter()
        for _ in range(REQUESTS):
            response = await client.post("/graphql", json=QUERY, headers=headers)
            assert response.status_code == 200, response.text
        return (time.perf_counter() - started) / REQUESTS * 1e6


async def main() -> None:
    server = databases.server_url()
    name, url = await databases.create_test_database(server)
    try:
        # Limits on, but out of reach: the figures include their bookkeeping, not refusals.
        base = Settings(
            _env_file=None,
            environment=Environment.TEST,
            log_level="warning",
            rate_limit_ip_per_15min=10**9,
            rate_limit_user_per_minute=10**9,
        )
        token = issue_access_token(
            base, user_id=uuid.uuid4(), role=Role.USER, session_id=uuid.uuid4()
        )
        configurations = [("anonymous", base, None), ("bearer, PostgreSQL denylist", base, token)]
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            with_redis = base.model_copy(update={"redis_url": redis_url})
            configurations.append(("bearer, Redis denylist", with_redis, token))
        for label, settings, bearer in (
            configurations * 2
        ):  # interleaved twice: the machine is noisy
            print(f"{label:32s} {await measure(settings, url, bearer):8.0f} µs/request")
    finally:
        await databases.drop_database(server, name)


if __name__ == "__main__":
    asyncio.run(main())
