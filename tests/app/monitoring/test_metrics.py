"""A known sequence of requests moves exactly the expected counters; /metrics serves them."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import httpx
import pytest

from app.db.engine import SessionFactory
from app.monitoring.extensions import document_hash
from app.settings import Settings
from tests.app.monitoring.helpers import deltas
from tests.conftest import GraphQL
from tests.factories import create_user, token_for

pytestmark = pytest.mark.asyncio

ANONYMOUS = "{ serverInfo { environment } }"


async def test_known_requests_move_exactly_the_expected_counters(
    client: httpx.AsyncClient, graphql: GraphQL
) -> None:
    anonymous_name = "anonymous:" + document_hash(ANONYMOUS)
    with deltas(
        (
            "bountyexpo_http_requests_total",
            {"route": "/graphql", "method": "POST", "status": "200"},
        ),
        ("bountyexpo_http_requests_total", {"route": "/health", "method": "GET", "status": "200"}),
        (
            "bountyexpo_http_requests_total",
            {"route": "unmatched", "method": "GET", "status": "404"},
        ),
        ("bountyexpo_http_request_duration_seconds_count", {"route": "/graphql", "method": "POST"}),
        (
            "bountyexpo_graphql_operations_total",
            {"operation_type": "query", "operation_name": "Info", "outcome": "ok"},
        ),
        (
            "bountyexpo_graphql_operations_total",
            {"operation_type": "query", "operation_name": anonymous_name, "outcome": "ok"},
        ),
        (
            "bountyexpo_graphql_operations_total",
            {"operation_type": "query", "operation_name": "Broken", "outcome": "error"},
        ),
        ("bountyexpo_graphql_errors_total", {"code": "GRAPHQL_PARSE_FAILED"}),
        ("bountyexpo_graphql_errors_total", {"code": "GRAPHQL_VALIDATION_FAILED"}),
        ("bountyexpo_graphql_resolver_duration_seconds_count", {"field": "Query.serverInfo"}),
        ("bountyexpo_graphql_resolver_duration_seconds_count", {"field": "ServerInfo.version"}),
        ("bountyexpo_graphql_phase_duration_seconds_count", {"phase": "execute"}),
    ) as moved:
        await graphql("query Info { serverInfo { version } }")
        await graphql("query Info { serverInfo { version } }")
        await graphql(ANONYMOUS)
        await graphql("query Broken { serverInfo { uptime } }")
        await graphql("{ serverInfo { ")
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/nothing-here")).status_code == 404
    assert moved.all() == [5, 1, 1, 5, 2, 1, 1, 1, 1, 3, 0, 3]


async def test_viewer_query_counts_one_loader_batch_and_its_sql(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    with deltas(
        ("bountyexpo_dataloader_batch_size_keys_count", {"loader": "user_by_id"}),
        ("bountyexpo_dataloader_batch_size_keys_sum", {"loader": "user_by_id"}),
        ("bountyexpo_db_queries_total", {"operation": "SELECT"}),
        ("bountyexpo_graphql_resolver_duration_seconds_count", {"field": "Query.viewer"}),
    ) as moved:
        body = await graphql("{ viewer { displayName } }", token=token_for(settings, user))
    assert body == {"data": {"viewer": {"displayName": user.display_name}}}
    # pool_pre_ping may add its own `SELECT 1`: at least the loader's one SELECT is counted.
    assert (moved[0], moved[1], moved[3]) == (1, 1, 1)
    assert moved[2] >= 1


async def test_failed_sql_counts_as_a_database_error(session_factory: SessionFactory) -> None:
    # The test engine is not the app's: instrument a session factory's engine the same way.
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    from app.monitoring.database import instrument_engine

    engine = session_factory.kw["bind"]
    instrument_engine(engine, None, metrics_enabled=True)
    with deltas(("bountyexpo_db_errors_total", {"operation": "SELECT"})) as moved:
        async with engine.connect() as connection:
            with pytest.raises(ProgrammingError):
                await connection.execute(text("SELECT * FROM no_such_table"))
    assert moved.all() == [1]


async def test_metrics_is_prometheus_text_that_promtool_accepts(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "bountyexpo_http_requests_total{" in response.text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    checked = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=response.content,
        capture_output=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


async def test_metrics_speaks_openmetrics_when_asked(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


async def test_metrics_json_has_samples_and_derived_figures(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    body = (await client.get("/metrics/json")).json()
    assert set(body["derived"]) == {
        "windowSeconds",
        "requests",
        "requestRatePerSecond",
        "errorRatio",
        "latencyMs",
        "graphqlErrors",
        "dbErrors",
        "websocketConnections",
    }
    assert set(body["derived"]["latencyMs"]) == {"p50", "p95", "p99"}
    assert body["sinceStart"]["requests"] >= 1
    names = {family["name"] for family in body["metrics"]}
    assert {"bountyexpo_http_requests", "bountyexpo_graphql_operations"} <= names


async def test_formatting_resolvers_marked_untimed_are_not_wrapped(settings: Settings) -> None:
    """Media URLs are a string join per image: timing each would cost more than the join."""
    from app.graphql import build_schema

    types = build_schema(settings)._schema.type_map
    wrapped = {
        f"{type_name}.{field}": getattr(types[type_name].fields[field].resolve, "__name__", "")  # type: ignore[attr-defined]
        == "observed"
        for type_name, field in (("User", "avatarUrl"), ("BountyImage", "url"), ("User", "email"))
    }
    assert wrapped == {"User.avatarUrl": False, "BountyImage.url": False, "User.email": True}
