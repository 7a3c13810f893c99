"""Issue 15 item 6: `serve --workers 2` logs the same JSON lines (time, level, trace id, request
id) from the master and from every worker it spawns, uvicorn's own lines included."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.gateway_processes import gateway_workers

pytestmark = pytest.mark.asyncio


async def test_master_and_every_worker_log_json_lines(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with gateway_workers(database_url, log, 2, LOG_FORMAT="json", LOG_LEVEL="info") as gateway:
        async with httpx.AsyncClient(base_url=gateway.http, timeout=30) as client:
            for number in range(40):  # both workers take some (the kernel spreads accepts)
                response = await client.post(
                    "/graphql",
                    json={"query": "{ serverInfo { version } }"},
                    headers={"x-request-id": f"req-{number}"},
                )
                assert response.status_code == 200
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line, from every process, is one JSON object
        assert set(entry) >= {"time", "level", "logger", "message", "traceId", "requestId", "pid"}
        datetime.fromisoformat(entry["time"])
        assert entry["level"] in {"debug", "info", "warning", "error", "critical"}
        entries.append(entry)
    pids = {entry["pid"] for entry in entries}
    ready = [entry for entry in entries if entry["message"].startswith("gateway ready")]
    assert len({entry["pid"] for entry in ready}) == 2  # both workers ran our lifespan
    assert len(pids) >= 3  # the master (uvicorn's supervisor) as well
    access = [
        entry
        for entry in entries
        if entry["logger"] == "uvicorn.access" and "POST /graphql" in entry["message"]
    ]
    assert {entry["requestId"] for entry in access} == {f"req-{n}" for n in range(40)}
    assert all(len(entry["traceId"]) == 32 for entry in access)
