"""Issue 15 item 3 and 7: with PostgreSQL unreachable (a proxy the test cuts), requests answer
SERVICE_UNAVAILABLE with retryAfter (HTTP 503 + Retry-After when nothing was written), counted
apart from internal errors; once it is back they are served at once, and no acknowledged write
is lost, not even one whose answer was lost after commit (recovered through its key)."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.db.engine import SessionFactory
from app.db.models import Bounty
from resolvers import bounty_mutations
from tests.bounty_factories import NEW_BOUNTY
from tests.conftest import make_settings
from tests.factories import create_user, global_id, token_for
from tests.faults.helpers import post
from tests.faults.proxy import postgres_proxy
from tests.security.gateways import client_for, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.faults]

CREATE = """
mutation ($input: CreateBountyInput!) {
  createBounty(input: $input) {
    __typename
    ... on BountySuccess { bounty { id title } }
    ... on UserError { code }
  }
}"""
VIEWER = {"query": "{ viewer { displayName } }"}


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def bounties(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Bounty)) or 0)


def unavailable(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [error["extensions"] for error in body["errors"]]


async def test_a_database_outage_is_retryable_and_loses_no_acknowledged_write(
    database_url: str, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await create_user(session_factory, display_name="Outage Olly")
    token = token_for(make_settings(), user)
    outages = counted("bountyexpo_dependency_unavailable_total", dependency="postgres")
    internal = counted("bountyexpo_graphql_errors_total", code="INTERNAL_SERVER_ERROR")
    async with postgres_proxy(database_url) as proxy:  # noqa: SIM117 (the app needs proxy.url)
        async with (
            running_app(proxy.url, db_connect_timeout_seconds=1.0) as app,
            client_for(app) as client,
        ):
            assert (await post(client, VIEWER, token)).json() == {
                "data": {"viewer": {"displayName": "Outage Olly"}}
            }
            proxy.cut()
            read = await post(client, VIEWER, token)
            create = await post(
                client,
                {"query": CREATE, "variables": {"input": {**NEW_BOUNTY, "idempotencyKey": "o-1"}}},
                token,
            )
            for response in (read, create):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                [extensions] = unavailable(response.json())
                assert extensions["code"] == "SERVICE_UNAVAILABLE"
                assert extensions["retryAfter"] == 5
            assert read.json()["data"] == {"viewer": None}
            assert create.json()["data"] is None
            assert (
                counted("bountyexpo_dependency_unavailable_total", dependency="postgres")
                == outages + 2
            )
            assert counted("bountyexpo_graphql_errors_total", code="INTERNAL_SERVER_ERROR") == (
                internal
            )
            proxy.restore()
            # Back at once: the pool's dead connections are replaced on the next checkout.
            assert (await post(client, VIEWER, token)).json() == {
                "data": {"viewer": {"displayName": "Outage Olly"}}
            }
            assert await bounties(session_factory) == 0  # the refused create wrote nothing

            # The create commits, then PostgreSQL goes away before the answer is read back.
            reread = bounty_mutations.fresh_bounty
            committed: list[Any] = []

            async def cut_after_commit(info: Any, bounty_id: Any) -> Any:
                if not committed:
                    committed.append(bounty_id)
                    proxy.cut()
                return await reread(info, bounty_id)

            monkeypatch.setattr(bounty_mutations, "fresh_bounty", cut_after_commit)
            keyed = {
                "query": CREATE,
                "variables": {"input": {**NEW_BOUNTY, "idempotencyKey": "o-2"}},
            }
            lost = await post(client, keyed, token)
            # Something was written: not a 503 (that would say "nothing happened"), but the
            # same retryable code, so the app repeats the request with the same key.
            assert lost.status_code == 200
            assert unavailable(lost.json())[0]["code"] == "SERVICE_UNAVAILABLE"
            assert lost.json()["data"] is None
            proxy.restore()
            again = (await post(client, keyed, token)).json()
            assert again["data"]["createBounty"] == {
                "__typename": "BountySuccess",
                "bounty": {"id": global_id("Bounty", committed[0]), "title": NEW_BOUNTY["title"]},
            }
            assert await bounties(session_factory) == 1
