"""Fixtures: a database per run, the real ASGI app over HTTP and WebSocket, GraphQL helpers."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette

from app.db.engine import SessionFactory, create_session_factory
from app.db.models import QUEUE_TABLES, metadata
from app.main import create_app
from app.settings import Environment, Settings
from services import system_settings
from services.identity import Identity
from services.mail import LogMailSender
from services.throttle import InProcessThrottle
from tests import databases

GraphQL = Callable[..., Awaitable[dict[str, Any]]]
TEST_WEBHOOK_SECRET = "whsec_test_suite"
TEST_MEDIA_DIR = Path(tempfile.gettempdir()) / f"bountyexpo-test-media-{os.getpid()}"


@pytest.fixture(scope="session")
def server_url() -> str:
    return databases.server_url()


@pytest_asyncio.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    name, url = await databases.create_test_database(server_url)
    yield url
    await databases.drop_database(server_url, name)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


def make_settings(**overrides: Any) -> Settings:
    """Test settings that ignore the developer's environment and `.env`."""
    values: dict[str, Any] = {
        "environment": Environment.TEST,
        "redis_url": None,
        "log_level": "warning",
        "media_dir": TEST_MEDIA_DIR,
        # Request-rate limits span a whole run in the shared app; their tests build their own.
        "rate_limits": False,
        # No background reload of the revocation copy in the middle of a statement count: the
        # app's own revocations reach its copy at once (tests/faults/ covers the reloads).
        "revocation_resync_seconds": 3600,
        "revocation_staleness_seconds": 7200,
        "stripe_webhook_secret": TEST_WEBHOOK_SECRET,
        # Likewise load shedding: tests that send many requests at once must not see 503s.
        "shed_max_in_flight": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest_asyncio.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> None:
    """Tests that touch the database start from empty tables."""
    if "database_url" in request.fixturenames:
        request.getfixturevalue("_truncate_tables_after_test")


@pytest_asyncio.fixture
async def _truncate_tables_after_test(engine: AsyncEngine) -> AsyncIterator[None]:
    # Truncation rather than a rolled-back transaction: the app commits for real, runs
    # concurrent sessions, and other processes (workers) see what a test wrote.
    yield
    names = [t.name for t in metadata.sorted_tables if not t.info.get("reference_data")]
    names += QUEUE_TABLES  # PgQueuer's jobs, logs and schedules: not in our metadata
    tables = ", ".join(f'"{name}"' for name in names)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    system_settings.cache.clear()  # the next test starts from the defaults, not a cached value


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings, database_url: str) -> AsyncIterator[Starlette]:
    application = create_app(settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    # Plain ASGI transport: WebSocket tests open their own (see `graphql_socket`), because
    # httpx-ws's transport holds an anyio task group that must close in the task that opened it.
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@contextlib.asynccontextmanager
async def graphql_socket(app: Starlette, protocol: str) -> AsyncIterator[AsyncWebSocketSession]:
    """A WebSocket to /graphql speaking `protocol`; open it inside the test body."""
    transport = ASGIWebSocketTransport(app)
    socket: AsyncWebSocketSession
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        aconnect_ws("/graphql", client, subprotocols=[protocol]) as socket,
    ):
        yield socket


@pytest.fixture
def graphql(client: httpx.AsyncClient) -> GraphQL:
    """POST a document; return the JSON body (asserting HTTP 200 unless `status` says otherwise)."""

    async def execute(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body

    return execute


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def sql_statements() -> Iterator[StatementCounter]:
    """Every SQL statement any engine sends while the test runs (pings excluded)."""
    counter = StatementCounter()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip().upper() != "SELECT 1":
            counter.statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield counter
    event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: Redis tests run in CI against a real Redis")
    return url


@pytest.fixture
def identity(app: Starlette) -> Identity:
    """The running app's identity services; throttle counts and the mail outbox start empty."""
    services: Identity = app.state.identity
    if isinstance(services.throttle, InProcessThrottle):
        services.throttle.clear()
    if isinstance(services.mail, LogMailSender):
        services.mail.outbox.clear()
    return services
