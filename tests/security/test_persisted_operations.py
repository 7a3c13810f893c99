"""Automatic Persisted Queries (Apollo's protocol) and trusted documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import PersistedOperation
from app.security.manifest import register_manifest
from services.persisted_operations import sha256_of
from tests.auth_helpers import count_rows
from tests.conftest import make_settings
from tests.security.gateways import codes, gateway, running_app
from tests.security.test_websocket_security import socket

pytestmark = [pytest.mark.asyncio, pytest.mark.persisted_operations]

QUERY = "query Env { serverInfo { environment } }"
DATA = {"data": {"serverInfo": {"environment": "TEST"}}}


def persisted(query: str | None, sha: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {
            "persistedQuery": {"version": 1, "sha256Hash": sha or sha256_of(query or "")}
        }
    }
    if query is not None:
        body["query"] = query
    return body


async def post(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_apq_round_trip_through_postgresql(database_url: str, engine: AsyncEngine) -> None:
    sha = sha256_of(QUERY)
    async with gateway(database_url) as client:
        unknown = await post(client, persisted(None, sha))
        assert unknown == {
            "data": None,
            "errors": [
                {
                    "message": "PersistedQueryNotFound",
                    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
                }
            ],
        }
        assert await post(client, persisted(QUERY)) == DATA
        assert await post(client, persisted(None, sha)) == DATA
    assert await count_rows(engine, PersistedOperation) == 1
    # Another instance finds it in PostgreSQL; over GET too (cacheable by a CDN).
    async with gateway(database_url) as client:
        assert await post(client, persisted(None, sha)) == DATA
        response = await client.get(
            "/graphql",
            params={"extensions": json.dumps(persisted(None, sha)["extensions"])},
            headers={"apollo-require-preflight": "1"},
        )
        assert response.json() == DATA


async def test_apq_refuses_a_wrong_hash_and_keeps_no_invalid_document(
    database_url: str, engine: AsyncEngine
) -> None:
    async with gateway(database_url) as client:
        mismatch = await post(client, persisted(QUERY, sha256_of("{ other }")))
        assert mismatch["errors"] == [
            {
                "message": "provided sha does not match query",
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ]
        invalid = "{ serverInfo { uptime } }"
        assert codes(await post(client, persisted(invalid))) == ["GRAPHQL_VALIDATION_FAILED"]
        again = await post(client, persisted(None, sha256_of(invalid)))
        assert codes(again) == ["PERSISTED_QUERY_NOT_FOUND"]
        bad_version = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}}}
        assert codes(await post(client, bad_version)) == ["BAD_USER_INPUT"]
    assert await count_rows(engine, PersistedOperation) == 0


async def test_apq_can_be_turned_off(database_url: str) -> None:
    async with gateway(database_url, persisted_operations="off") as client:
        body = await post(client, persisted(QUERY))
    assert codes(body) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


async def test_apq_uses_redis_when_configured(
    database_url: str, engine: AsyncEngine, redis_url: str
) -> None:
    query = "query RedisEnv { serverInfo { environment version } }"
    sha = sha256_of(query)
    client = redis.Redis.from_url(redis_url)
    try:
        async with gateway(database_url, redis_url=redis_url) as gateway_client:
            assert "data" in await post(gateway_client, persisted(query))
        assert await client.get(f"bountyexpo:apq:{sha}") == query.encode()
        assert 0 < await client.ttl(f"bountyexpo:apq:{sha}") <= 86_400
        async with gateway(database_url, redis_url=redis_url) as gateway_client:
            body = await post(gateway_client, persisted(None, sha))
        assert body["data"]["serverInfo"]["environment"] == "TEST"
        assert await count_rows(engine, PersistedOperation) == 0
    finally:
        await client.delete(f"bountyexpo:apq:{sha}")
        await client.aclose()


def write_manifest(path: Path, *bodies: str) -> Path:
    operations = [
        {"id": sha256_of(body), "name": None, "type": "query", "body": body} for body in bodies
    ]
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


async def test_trusted_documents_only(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "manifest.json", QUERY)
    settings = make_settings(database_url=database_url)
    assert await register_manifest(settings, manifest) == 1
    other = "{ serverInfo { version } }"
    async with gateway(database_url, persisted_operations="trusted") as client:
        assert await post(client, {"query": QUERY}) == DATA
        assert await post(client, persisted(None, sha256_of(QUERY))) == DATA
        refused = await post(client, {"query": other})
        assert refused == {
            "data": None,
            "errors": [
                {
                    "message": "only registered operations may run here",
                    "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"},
                }
            ],
        }
        # A client cannot add to the list: sending hash and text changes nothing.
        assert codes(await post(client, persisted(other))) == ["PERSISTED_QUERY_NOT_IN_LIST"]
        assert codes(await post(client, persisted(None, sha256_of(other)))) == [
            "PERSISTED_QUERY_NOT_FOUND"
        ]
    assert await count_rows(engine, PersistedOperation) == 1


async def test_trusted_documents_hold_over_websocket(database_url: str, tmp_path: Path) -> None:
    await register_manifest(
        make_settings(database_url=database_url), write_manifest(tmp_path / "m.json", QUERY)
    )
    async with running_app(database_url, persisted_operations="trusted") as app, socket(app) as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": QUERY}})
        assert await ws.receive_json() == {"type": "next", "id": "1", "payload": DATA}
        assert await ws.receive_json() == {"type": "complete", "id": "1"}
        other = {"query": "{ serverInfo { version } }"}
        await ws.send_json({"type": "subscribe", "id": "2", "payload": other})
        message = await ws.receive_json()
        assert message["type"] == "next"
        assert codes(message["payload"]) == ["PERSISTED_QUERY_NOT_IN_LIST"]


async def test_register_accepts_codegen_maps_and_graphql_files(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = make_settings(database_url=database_url)
    codegen = tmp_path / "persisted-documents.json"
    codegen.write_text(json.dumps({sha256_of(QUERY): QUERY}))
    document = tmp_path / "viewer.graphql"
    document.write_text("query Viewer { viewer { id } }\n")
    assert await register_manifest(settings, codegen) == 1
    assert await register_manifest(settings, document) == 1
    assert await register_manifest(settings, codegen) == 1  # idempotent
    assert await count_rows(engine, PersistedOperation) == 2
