"""The same flows through the JavaScript client the app ships (clients/e2e/: Apollo Client with a
graphql-ws link, under Node's test runner), against the same separate processes.

Outside CI the test skips when Node or `npm ci`'s node_modules are missing; with CI=true (as
.ci/run sets) it fails instead. The Node run reports the documents it used; the pushes and mails
its flow caused are checked here, at the local push and mail servers.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from app.client_operations import load_operations
from tests.clients.stack import Stack, client_stack
from tests.conftest import make_settings
from tests.gateway_processes import ROOT

pytestmark = pytest.mark.asyncio

PACKAGE = ROOT / "clients" / "e2e"


def node_or_skip() -> str:
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else None
        if (PACKAGE / "node_modules").is_dir()
        else "clients/e2e/node_modules is missing: run `npm ci` in clients/e2e"
    )
    if missing is None and node is not None:
        return node
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing} (CI=true: the JavaScript client flows must run)")
    pytest.skip(missing or "")


@pytest_asyncio.fixture
async def stack(server_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with client_stack(server_url, tmp_path) as running:
        yield running


async def test_apollo_client_runs_the_flows(stack: Stack, tmp_path: Path) -> None:
    node = node_or_skip()
    report = tmp_path / "report.json"
    environment = {
        **os.environ,
        "API_BASE_URL": stack.gateway.http,
        "E2E_REPORT": str(report),
        "E2E_JWT_SECRET": make_settings().jwt_secret.get_secret_value(),
    }
    # Not subprocess.run: the push server lives in this event loop and must keep answering.
    process = await asyncio.create_subprocess_exec(
        node,
        "--test",
        "--test-concurrency=1",
        "test/",
        cwd=PACKAGE,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    text = output.decode()
    (tmp_path / "node.log").write_text(text)
    assert process.returncode == 0, text
    assert "# pass 1" in text
    assert "# fail 0" in text

    used = set(json.loads(report.read_text())["used"])
    assert {operation.name for operation in load_operations(ROOT / "clients/operations")} == used

    pushed = {
        (message["to"], message.get("title")) for batch in stack.expo.sends() for message in batch
    }
    assert ("ExponentPushToken[hunter-phone-1-token]", "Your application was accepted") in pushed
    assert ("ExponentPushToken[poster-phone-1-token]", "New application") in pushed
    subjects = [
        str(mail["Subject"])
        for mail in stack.inbox.messages
        if "hugo@example.com" in str(mail["To"])
    ]
    assert any("accepted" in subject for subject in subjects), subjects
