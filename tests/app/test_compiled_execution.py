"""The compiled executor (app/execution/) against graphql-core's, on real documents.

An app with EXECUTION_CHECK runs every operation on both executors and fails it when they
differ; these tests send documents that cover what the plan does (attributes, resolvers,
aliases, fragments, unions, lists, `__typename`, arguments, nulls, errors, mutations, fallbacks)
and assert both the exact response and that the comparison ran. The whole suite can run the same
way (`EXECUTION_CHECK=true`); `test_shared_app_checks_when_asked` proves it then does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import BountyStatus
from app.execution import CheckedExecutor, CompiledExecutor, ExecutionMismatch, check_counts
from app.execution import executor as executor_module
from app.graphql import build_schema
from app.main import create_app
from app.settings import Settings
from tests.bounty_factories import insert_application, insert_bounty
from tests.conftest import GraphQL, make_settings
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

DETAIL = """query Detail($id: ID!) {
  bounty(id: $id) {
    __typename id title status
    reward { amount currency }
    poster { ...Who }
    author: poster { displayName }
    applicationCount images { url }
    applications { status message proposedAmount { amount } hunter { ...Who } }
    hunter { id }
  }
}
fragment Who on User { id displayName rating reviewCount skills }"""


@pytest_asyncio.fixture(scope="module")
async def checked_app(database_url: str) -> AsyncIterator[Starlette]:
    application = create_app(make_settings(execution_check=True), database_url=database_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def checked(checked_app: Starlette) -> AsyncIterator[GraphQL]:
    transport = httpx.ASGITransport(checked_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

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

        yield execute


async def test_detail_with_applications_is_identical_on_both_executors(
    checked: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory, display_name="Poster")
    hunters = [await create_user(session_factory, display_name=f"Hunter {i}") for i in range(3)]
    bounty_id = await insert_bounty(session_factory, poster, title="Fix the fence")
    for hunter in hunters:
        await insert_application(session_factory, bounty_id, hunter)
    before = check_counts["compared"]

    body = await checked(
        DETAIL, {"id": global_id("Bounty", bounty_id)}, token=token_for(settings, poster)
    )

    assert "errors" not in body, body
    bounty = body["data"]["bounty"]
    assert bounty["__typename"] == "Bounty"
    assert bounty["title"] == "Fix the fence"
    assert bounty["status"] == "OPEN"
    assert bounty["poster"]["displayName"] == "Poster"
    assert bounty["author"] == {"displayName": "Poster"}
    assert bounty["applicationCount"] == 3
    assert sorted(a["hunter"]["displayName"] for a in bounty["applications"]) == [
        "Hunter 0",
        "Hunter 1",
        "Hunter 2",
    ]
    assert bounty["hunter"] is None
    assert check_counts["compared"] == before + 1
    assert check_counts["mismatched"] == 0


async def test_anonymous_detail_nulls_and_lists(
    checked: GraphQL, session_factory: SessionFactory
) -> None:
    poster = await create_user(session_factory)
    bounty_id = await insert_bounty(session_factory, poster)
    before = check_counts["compared"]

    body = await checked(DETAIL, {"id": global_id("Bounty", bounty_id)})
    missing = await checked(DETAIL, {"id": global_id("Bounty", poster.id)})
    listed = await checked(
        """{ bounties(first: 5) { totalCount edges { cursor node { id ... on Node { id } } } }
             bountyCategories serverInfo { environment } }"""
    )

    assert body["data"]["bounty"]["applications"] is None  # hidden from strangers
    assert missing == {"data": {"bounty": None}}
    assert listed["data"]["bounties"]["totalCount"] == 1
    assert listed["data"]["bounties"]["edges"][0]["node"]["id"] == global_id("Bounty", bounty_id)
    assert "delivery" in listed["data"]["bountyCategories"]
    assert check_counts["compared"] == before + 3
    assert check_counts["mismatched"] == 0


async def test_errors_paths_and_null_propagation_are_identical(checked: GraphQL) -> None:
    before = check_counts["compared"]

    # A nullable root field that fails next to one that succeeds.
    body = await checked('{ serverInfo { environment } profile(id: "nope") { id } }')
    # A non-null root field that fails: the whole `data` becomes null.
    refused = await checked("{ serverInfo { environment } myBounties { totalCount } }")

    assert body["data"] == {"serverInfo": {"environment": "TEST"}, "profile": None}
    assert body["errors"] == [
        {
            "message": 'Value cannot represent a GlobalID: "nope".',
            "locations": [{"line": 1, "column": 30}],
            "path": ["profile"],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]
    assert refused["data"] is None
    assert refused["errors"][0]["path"] == ["myBounties"]
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert check_counts["compared"] == before + 2
    assert check_counts["mismatched"] == 0


async def test_mutation_runs_once_and_completes_its_union(
    checked: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    bounty_id = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    update = """mutation ($input: UpdateBountyInput!) {
      first: updateBounty(input: $input) {
        __typename
        ... on BountySuccess { bounty { title updatedAt } }
        ... on UserError { code field }
      }
    }"""
    before = check_counts["compared"]

    body = await checked(
        update,
        {"input": {"bountyId": global_id("Bounty", bounty_id), "title": "Renamed once"}},
        token=token_for(settings, poster),
    )
    refused = await checked(
        update,
        {"input": {"bountyId": global_id("Bounty", bounty_id), "title": "x"}},
        token=token_for(settings, await create_user(session_factory)),
    )
    history = await checked(
        "query ($id: ID!) { bounty(id: $id) { history { toStatus note } } }",
        {"id": global_id("Bounty", bounty_id)},
        token=token_for(settings, poster),
    )

    assert body["data"]["first"]["__typename"] == "BountySuccess"
    assert body["data"]["first"]["bounty"]["title"] == "Renamed once"
    assert refused["data"]["first"]["__typename"] in {"NotAllowedError", "NotFoundError"}
    assert history["data"]["bounty"]["history"] is not None
    assert check_counts["compared"] == before + 3
    assert check_counts["mismatched"] == 0


async def test_variable_directives_fall_back_to_graphql_core(checked: GraphQL) -> None:
    query = """query ($on: Boolean!) { serverInfo { environment version @include(if: $on) } }"""
    before = check_counts["compared"]

    shown = await checked(query, {"on": True})
    hidden = await checked(query, {"on": False})
    static = await checked("{ serverInfo { environment version @skip(if: true) } }")

    assert set(shown["data"]["serverInfo"]) == {"environment", "version"}
    assert hidden["data"]["serverInfo"] == {"environment": "TEST"}
    assert static["data"]["serverInfo"] == {"environment": "TEST"}
    # Only the static document was planned (and so compared); the others ran on graphql-core.
    assert check_counts["compared"] == before + 1


async def test_a_difference_fails_the_operation(
    checked: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CompiledExecutor._execute_object

    def wrong(self: CompiledExecutor, plan: Any, source: Any, path: Any) -> Any:
        result = original(self, plan, source, path)
        if isinstance(result, dict) and "environment" in result:
            result["environment"] = "tampered"
        return result

    monkeypatch.setattr(CompiledExecutor, "_execute_object", wrong)
    before = check_counts["mismatched"]

    body = await checked("{ serverInfo { environment } }")

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert check_counts["mismatched"] == before + 1
    check_counts["mismatched"] = before  # the deliberate one; later tests count from zero


async def test_switch_selects_the_executor() -> None:
    on = build_schema(make_settings(execution_check=False))
    off = build_schema(make_settings(compiled_execution=False, execution_check=False))
    checking = build_schema(make_settings(execution_check=True))

    assert on.execution_context_class is CompiledExecutor
    assert not issubclass(off.execution_context_class, CompiledExecutor)
    assert checking.execution_context_class is CheckedExecutor
    assert issubclass(ExecutionMismatch, AssertionError)


async def test_plans_are_built_once_per_operation(graphql: GraphQL, settings: Settings) -> None:
    query = "{ serverInfo { environment } }"
    await graphql(query)
    planned = len(executor_module._plans)

    for _ in range(3):
        assert (await graphql(query))["data"] == {"serverInfo": {"environment": "TEST"}}

    assert len(executor_module._plans) == planned
    if settings.compiled_execution or settings.execution_check:
        assert planned >= 1


async def test_shared_app_checks_when_asked(graphql: GraphQL, settings: Settings) -> None:
    """With EXECUTION_CHECK=true in the environment, the suite's own app compares every
    operation: this test fails if the switch stopped reaching it."""
    before = check_counts["compared"]

    await graphql("{ serverInfo { environment } }")

    if settings.execution_check:
        assert check_counts["compared"] == before + 1
        assert check_counts["mismatched"] == 0
    else:
        assert check_counts["compared"] == before
