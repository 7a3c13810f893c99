"""Password hashing is bounded per process: past its threads and queue, sign-in and sign-up are
refused at once with 503 SERVICE_UNAVAILABLE and Retry-After, and nothing is counted or written."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import User
from app.settings import Settings
from services import passwords
from tests.auth_helpers import SIGN_IN, SIGN_UP, audit_actions, count_rows
from tests.factories import PASSWORD, create_user
from tests.security.gateways import client_for, running_app

pytestmark = pytest.mark.asyncio

BUSY = {
    "message": "too many sign-ins at once; retry shortly",
    "extensions": {"code": "SERVICE_UNAVAILABLE", "retryAfter": 1},
}


@pytest.fixture
def _default_password_work() -> Iterator[None]:
    yield
    fields = Settings.model_fields
    threads = fields["password_hash_threads"].default
    passwords.configure(threads, fields["password_hash_queue"].default)


@contextlib.asynccontextmanager
async def every_thread_busy(work: passwords.PasswordWork) -> AsyncIterator[None]:
    """Occupy each of the work's threads until the block ends."""
    go = threading.Event()
    held = [asyncio.create_task(work.run(lambda: go.wait(30))) for _ in range(work.threads)]
    while work.pending < work.threads:  # noqa: ASYNC110  (the work has no event to wait on)
        await asyncio.sleep(0)
    try:
        yield
    finally:
        go.set()
        await asyncio.gather(*held)


@pytest.mark.usefixtures("_default_password_work")
async def test_sign_ins_past_the_bound_get_503_and_count_as_no_attempt(
    database_url: str, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    user = await create_user(session_factory)
    sign_in = {"query": SIGN_IN, "variables": {"email": user.email, "password": PASSWORD}}
    sign_up = {
        "query": SIGN_UP,
        "variables": {
            "input": {"email": "new@example.test", "password": PASSWORD, "displayName": "N"}
        },
    }
    settings = {"password_hash_threads": 1, "password_hash_queue": 0}
    async with running_app(database_url, **settings) as app, client_for(app) as client:
        work = passwords.configure(1, 0)  # the app's own (same bounds)
        async with every_thread_busy(work):
            # More refusals than the 5 failed sign-ins that would lock the account.
            refused = [await client.post("/graphql", json=sign_in) for _ in range(6)]
            refused.append(await client.post("/graphql", json=sign_up))
        signed_in = await client.post("/graphql", json=sign_in)
    for response, field in zip(refused, ["signIn"] * 6 + ["signUp"], strict=True):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        [error] = response.json()["errors"]
        del error["locations"]
        assert error == {**BUSY, "path": [field]}
        assert response.json()["data"] is None
    assert signed_in.status_code == 200
    assert signed_in.json()["data"]["signIn"]["__typename"] == "SignInSuccess"
    assert await audit_actions(engine) == ["auth.sign_in"]  # the refusals left no trace
    assert await count_rows(engine, User) == 1  # the sign-up made no account
