"""The bounty detail's SQL shape: the poster's view with applications and their hunters costs the
same statements for one application as for ten (hunters come in the applications statement)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from app.db.engine import SessionFactory
from app.settings import Settings
from tests.bounty_factories import insert_application, insert_bounty
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

DETAIL = """query ($id: ID!) { bounty(id: $id) {
  title poster { displayName }
  applications { status hunter { id displayName rating } }
} }"""


@pytest.mark.parametrize("applicants", [1, 10])
async def test_detail_with_applicants_costs_the_same_statements(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
    applicants: int,
) -> None:
    poster = await create_user(session_factory, display_name="Poster")
    bounty_id = await insert_bounty(session_factory, poster, title="Paint the fence")
    names = [f"Hunter {n:02}" for n in range(applicants)]
    for name in names:
        hunter = await create_user(session_factory, display_name=name)
        await insert_application(session_factory, bounty_id, hunter)
    token = token_for(settings, poster)
    sql_statements.statements.clear()

    body = await graphql(DETAIL, {"id": global_id("Bounty", bounty_id)}, token=token)

    bounty = body["data"]["bounty"]
    assert bounty["title"] == "Paint the fence"
    assert sorted(app["hunter"]["displayName"] for app in bounty["applications"]) == names
    # Authentication's revocation lookup aside (issue 17 item 2 moves it out of PostgreSQL):
    # the bounty card (poster, count, images), then applications with their hunters.
    reads = [s for s in sql_statements.statements if "FROM revoked_tokens" not in s]
    assert len(reads) == 2, reads
    assert "FROM bounties" in reads[0]
    assert "applications" in reads[1]
    assert "hunter" in reads[1]


async def test_a_deleted_hunter_shows_as_null(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    hunter = await create_user(session_factory, display_name="Gone soon")
    bounty_id = await insert_bounty(session_factory, poster)
    await insert_application(session_factory, bounty_id, hunter)
    async with session_factory() as session, session.begin():
        await session.execute(
            text("UPDATE users SET status = 'DELETED' WHERE id = :id"), {"id": hunter.id}
        )

    body = await graphql(
        DETAIL, {"id": global_id("Bounty", bounty_id)}, token=token_for(settings, poster)
    )

    assert body["data"]["bounty"]["applications"] == [{"status": "PENDING", "hunter": None}]


PAGES = """query ($id: ID!, $first: Int, $after: String) { bounty(id: $id) {
  applicationsConnection(first: $first, after: $after) {
    edges { cursor node { message hunter { displayName } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
} }"""

MINE = """query ($first: Int) { myBounties(first: $first) { edges { node {
  title applicationsConnection(first: 2) { edges { node { hunter { displayName } } } }
} } } }"""


async def _with_applications(
    session_factory: SessionFactory, poster: Any, count: int, title: str = "Paint the fence"
) -> uuid.UUID:
    bounty_id = await insert_bounty(session_factory, poster, title=title)
    for n in range(count):
        hunter = await create_user(session_factory, display_name=f"{title} hunter {n}")
        await insert_application(session_factory, bounty_id, hunter)
    return bounty_id


async def test_applications_come_in_pages_oldest_first(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    bounty_id = await _with_applications(session_factory, poster, 5)
    token = token_for(settings, poster)
    variables: dict[str, Any] = {"id": global_id("Bounty", bounty_id), "first": 2}

    seen, pages = [], []
    while True:
        body = await graphql(PAGES, variables, token=token)
        page = body["data"]["bounty"]["applicationsConnection"]
        pages.append(page["pageInfo"])
        seen += [edge["node"]["hunter"]["displayName"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]

    assert seen == [f"Paint the fence hunter {n}" for n in range(5)]
    assert [(p["hasNextPage"], p["hasPreviousPage"]) for p in pages] == [
        (True, False),
        (True, True),
        (False, True),
    ]
    stranger = await graphql(
        PAGES, variables, token=token_for(settings, await create_user(session_factory))
    )
    assert stranger["data"]["bounty"]["applicationsConnection"] is None
    refused = await graphql(PAGES, {**variables, "first": 101}, token=token)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert refused["data"]["bounty"]["applicationsConnection"] is None


@pytest.mark.parametrize("bounties", [1, 4])
async def test_pages_of_a_list_of_bounties_cost_one_statement(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
    bounties: int,
) -> None:
    poster = await create_user(session_factory)
    for n in range(bounties):
        await _with_applications(session_factory, poster, 3, title=f"Bounty {n}")
    token = token_for(settings, poster)
    sql_statements.statements.clear()

    body = await graphql(MINE, {"first": bounties}, token=token)

    edges = body["data"]["myBounties"]["edges"]
    assert len(edges) == bounties
    for edge in edges:
        names = [
            e["node"]["hunter"]["displayName"]
            for e in edge["node"]["applicationsConnection"]["edges"]
        ]
        assert names == [f"{edge['node']['title']} hunter {n}" for n in range(2)]
    reads = [s for s in sql_statements.statements if "FROM revoked_tokens" not in s]
    # The poster's bounties, then one statement for every bounty's first page of applications.
    assert len(reads) == 2, reads
    assert "row_number()" in reads[1]
