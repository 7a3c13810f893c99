"""/health/detailed reports dependencies; readiness follows the database going away and back.

The database "stops" by closing a TCP proxy the app connects through (and every connection it
carries): from the app's side that is what a stopped server looks like, without stopping the
server the rest of the suite shares.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text

from app.broker import InProcessBroker
from app.db.engine import SessionFactory
from app.db.migrate import head_revision
from app.db.models import Role
from app.main import create_app
from app.settings import package_version
from services import system_settings
from services.audit import RequestMeta
from services.unit_of_work import unit_of_work
from tests.app.monitoring.helpers import value
from tests.conftest import make_settings
from tests.factories import create_user
from tests.notification_helpers import viewer_of

pytestmark = pytest.mark.asyncio


class DatabaseProxy:
    def __init__(self, database_url: str) -> None:
        self.target = make_url(database_url)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        url = self.target.set(host="127.0.0.1", port=self.port, query={})
        return url.render_as_string(hide_password=False)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        socket_dir = self.target.query.get("host")
        if socket_dir:  # the embedded server listens on a Unix socket only
            port = self.target.port or 5432
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(self.target.host, self.target.port or 5432)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._connect()
        self.writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await self.server.wait_closed()


@contextlib.asynccontextmanager
async def client_for(url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url=url, **overrides), database_url=url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_ready_turns_503_while_the_database_is_down_and_back_to_200(
    database_url: str,
) -> None:
    proxy = DatabaseProxy(database_url)
    await proxy.start()
    try:
        async with client_for(proxy.url) as client:
            before = await client.get("/health/ready")
            await proxy.stop()
            during = await client.get("/health/ready")
            detailed = await client.get("/health/detailed")
            live = await client.get("/health/live")
            await proxy.start()
            after = await client.get("/health/ready")
    finally:
        with contextlib.suppress(AssertionError):
            await proxy.stop()
    assert before.status_code == 200
    assert during.status_code == 503
    assert during.json()["reason"].startswith("database unreachable: ")
    assert detailed.status_code == 503
    assert detailed.json()["status"] == "down"
    assert detailed.json()["checks"]["database"]["status"] == "down"
    assert live.status_code == 200
    assert after.status_code == 200
    assert after.json() == {"status": "ok", "database": "ok", "migrations": "head"}


async def test_detailed_reports_database_stripe_websocket_and_requests(database_url: str) -> None:
    # An app of its own: the session-wide one's alerts reflect what earlier tests did.
    async with client_for(database_url) as client:
        response = await client.get("/health/detailed")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok", body["checks"]
    assert body["version"] == package_version()
    assert body["uptimeSeconds"] >= 0
    database = body["checks"]["database"]
    assert database["status"] == "ok"
    assert database["migrations"] == {"current": head_revision(), "head": head_revision()}
    assert database["latencyMs"] > 0
    assert set(database["pool"]) == {"size", "checkedOut", "overflow"}
    assert "redis" not in body["checks"]
    assert body["stripe"] == {
        "provider": "sandbox",
        "standIn": True,
        "mode": "sandbox",
        "apiBase": None,
        "secretKeySet": False,
        "publishableKeySet": False,
        "webhookSecretSet": True,  # the test suite's webhook secret
        "previousWebhookSecretSet": False,
        "platformFeeBps": 1000,
    }
    assert set(body["websocket"]) == {"connections", "subscriptions"}
    assert set(body["requests"]["latencyMs"]) == {"p50", "p95", "p99"}
    assert body["alerts"] == []


async def test_detailed_reports_the_fee_in_force_through_the_settings_cache(
    client: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    """`platformFeeBps` is the `payments.platform_fee_bps` system setting once an admin set it
    (PLATFORM_FEE_BPS before), read through the settings' cache: probes within its lifetime
    cost no statement."""
    before = (await client.get("/health/detailed")).json()["stripe"]["platformFeeBps"]
    admin = await create_user(session_factory, role=Role.ADMIN)
    async with unit_of_work(session_factory, InProcessBroker()) as work:
        await system_settings.update_setting(
            work, viewer_of(admin), key=system_settings.PLATFORM_FEE_BPS, value=750,
            expected_version=0, meta=RequestMeta(),
        )  # fmt: skip
    first = (await client.get("/health/detailed")).json()["stripe"]["platformFeeBps"]
    # Changed behind the app's back (no cache drop): probes keep answering from the cache...
    async with session_factory() as session, session.begin():
        await session.execute(
            text("UPDATE system_settings SET value = '900' WHERE key = :key"),
            {"key": system_settings.PLATFORM_FEE_BPS},
        )
    cached = (await client.get("/health/detailed")).json()["stripe"]["platformFeeBps"]
    system_settings.cache.clear()  # ...until it expires (CACHE_SECONDS)
    reread = (await client.get("/health/detailed")).json()["stripe"]["platformFeeBps"]
    assert (before, first, cached, reread) == (1000, 750, 750, 900)


async def test_detailed_pings_redis_when_configured(database_url: str, redis_url: str) -> None:
    pings = value("bountyexpo_redis_commands_total", command="PING")
    async with client_for(database_url, redis_url=redis_url) as client:
        body = (await client.get("/health/detailed")).json()
    assert value("bountyexpo_redis_commands_total", command="PING") - pings == 1
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["redis"]["latencyMs"] > 0


async def test_a_registered_optional_check_degrades_without_failing(database_url: str) -> None:
    app = create_app(make_settings(database_url=database_url), database_url=database_url)

    async def mailer() -> dict[str, object]:
        return {"status": "down", "lastDelivery": None}

    app.state.monitoring.add_health_check("mailer", mailer)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/health/detailed")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["mailer"] == {"status": "down", "lastDelivery": None}


async def test_workers_check_degrades_while_jobs_wait_and_no_worker_is_alive(
    client: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    idle = (await client.get("/health/detailed")).json()["checks"]["workers"]
    assert idle == {
        "status": "ok",
        "alive": 0,
        "lastHeartbeat": None,
        "queueDepth": {"queued": 0, "picked": 0, "failed": 0},
        "oldestQueuedSeconds": 0.0,
    }
    async with unit_of_work(session_factory, InProcessBroker()) as work:
        await work.enqueue("system.noop", {})
    waiting = (await client.get("/health/detailed")).json()
    assert waiting["status"] == "degraded"
    assert waiting["checks"]["workers"]["status"] == "degraded"
    assert waiting["checks"]["workers"]["queueDepth"] == {"queued": 1, "picked": 0, "failed": 0}
