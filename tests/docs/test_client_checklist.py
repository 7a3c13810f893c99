"""docs/CLIENT.md's testing checklist, step by step, against the seeded demo data: the documents
of clients/operations/ and the staff documents pasted in the guide, sent as GraphiQL sends them
through the real ASGI app (with its embedded worker, as `python3 dev.py run` has), asserting the
outcomes the guide promises. The steps live in tests/docs/checklist.py, which also runs against
a live gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from app.client_operations import load_operations
from app.db.engine import SessionFactory
from app.main import create_app
from services.demo_bounties import seed_demo_bounties
from services.payments.interface import payments_for
from services.seed import seed_demo_data
from tests.conftest import graphql_socket, make_settings
from tests.docs import checklist
from tests.docs.checklist import Upload

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def demo_app(database_url: str, session_factory: SessionFactory) -> AsyncIterator[Starlette]:
    # What `python3 dev.py run` has: the demo data and a worker in the process. No reuse grace
    # for refresh tokens, so step 1.3's refusal needs no 10-second wait.
    settings = make_settings(
        database_url=database_url, worker_embedded=True, refresh_reuse_grace_seconds=0
    )
    async with session_factory() as session, session.begin():
        await seed_demo_data(session)
    await seed_demo_bounties(session_factory, payments_for(settings))
    application = create_app(settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_checklist_runs_as_the_guide_says(demo_app: Starlette) -> None:
    transport = httpx.ASGITransport(demo_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def send(
            query: str, variables: dict[str, Any], token: str | None, files: dict[str, Upload]
        ) -> Any:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            if files:
                headers["apollo-require-preflight"] = "true"
                parts = checklist.multipart(query, variables, files)
                return (await client.post("/graphql", headers=headers, **parts)).json()
            body = {"query": query, "variables": variables}
            return (await client.post("/graphql", json=body, headers=headers)).json()

        def open_socket() -> AbstractAsyncContextManager[Any]:
            return graphql_socket(demo_app, "graphql-transport-ws")

        checklist.USED.clear()
        done = await checklist.run(send, open_socket)
    # Every document of clients/operations/ ran, and every staff document of step 8.
    operations = load_operations(checklist.OPERATIONS)
    assert {operation.name for operation in operations} - checklist.USED == set()
    assert len(done.staff) == len(checklist.staff_documents()) == 13
