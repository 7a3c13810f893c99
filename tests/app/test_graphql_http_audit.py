"""graphql-http's GraphQL-over-HTTP audits (`serverAudits`) against the gateway on a real uvicorn:
every MUST and every SHOULD passes; the MAYs we decline are the ones the README lists.

The audit runs in node (tests/app/http_audit/, pinned by its package-lock.json and installed
with `npm ci` into its ignored node_modules); skipped only where node is absent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import create_app
from tests.conftest import make_settings
from tests.live_server import live_server

pytestmark = pytest.mark.asyncio

AUDIT = Path(__file__).parent / "http_audit"
# GET needs a preflight header here (Apollo's CSRF rule), which the audit's GETs do not send.
DECLINED_MAY = {
    "5A70": "MAY accept application/x-www-form-urlencoded formatted GET requests",
    "D6D5": "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting "
    "application/graphql-response+json",
    "6A70": "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting "
    "application/json",
}


@pytest.fixture(scope="module")
def audit_installed() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node is not installed: the graphql-http audit runs in node")
    installed = AUDIT / "node_modules" / "graphql-http" / "package.json"
    wanted = json.loads((AUDIT / "package.json").read_text())["dependencies"]["graphql-http"]
    if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
        command = [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(AUDIT)]
        subprocess.run(command, cwd=AUDIT, check=True, capture_output=True)
    return AUDIT / "audit.mjs"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    app = create_app(make_settings(database_url=database_url), database_url=database_url)
    with live_server(app) as base_url:
        yield base_url


async def _run(command: list[str], cwd: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_every_must_and_should_of_graphql_over_http_passes(
    audit_installed: Path, server: str
) -> None:
    node = shutil.which("node")
    assert node is not None
    output = await _run([node, str(audit_installed), f"{server}/graphql"], AUDIT)
    results = [json.loads(line) for line in output.splitlines()]
    assert len(results) > 60  # the whole suite ran
    failed = [r for r in results if r["status"] in ("error", "warn")]
    assert failed == [], failed
    notices = {r["id"]: r["name"] for r in results if r["status"] == "notice"}
    assert notices == DECLINED_MAY
