"""Creates a client may retry: under one idempotency key they happen once, however often sent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import Application, Bounty, IdempotencyKey, User
from app.settings import Settings
from resolvers import bounty_mutations
from tests.app.monitoring.helpers import value
from tests.auth_helpers import SIGN_UP, VIEWER, count_rows, sign_in
from tests.bounty_factories import APPLY, CREATE, NEW_BOUNTY, insert_bounty
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

CREATE_FULL = """
mutation ($input: CreateBountyInput!) {
  createBounty(input: $input) {
    __typename
    ... on BountySuccess { bounty { id title status createdAt reward { amount currency } } }
    ... on UserError { code message field }
  }
}"""


async def rows(session_factory: SessionFactory, model: Any) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_create_bounty_under_one_key_happens_once(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, other = await create_user(session_factory), await create_user(session_factory)
    token = token_for(settings, poster)
    keyed = {"input": {**NEW_BOUNTY, "idempotencyKey": "create-1"}}
    first = await graphql(CREATE_FULL, keyed, token=token)
    assert first["data"]["createBounty"]["__typename"] == "BountySuccess"
    assert await graphql(CREATE_FULL, keyed, token=token) == first
    # Ten at once, the first one included: still one bounty, ten identical answers.
    answers = await asyncio.gather(*(graphql(CREATE_FULL, keyed, token=token) for _ in range(10)))
    assert all(answer == first for answer in answers)
    assert await rows(session_factory, Bounty) == 1

    # Other input under the same key is refused, and nothing changes.
    changed = {"input": {**NEW_BOUNTY, "title": "Another title", "idempotencyKey": "create-1"}}
    refused = await graphql(CREATE_FULL, changed, token=token)
    assert refused["data"]["createBounty"] == {
        "__typename": "IdempotencyKeyReusedError",
        "code": "IDEMPOTENCY_KEY_REUSED",
        "message": "this idempotency key was used for a different request",
        "field": "idempotencyKey",
    }
    assert await rows(session_factory, Bounty) == 1
    assert await graphql(CREATE_FULL, keyed, token=token) == first

    # Keys are per user: another poster's "create-1" is a bounty of their own.
    theirs = await graphql(CREATE_FULL, keyed, token=token_for(settings, other))
    assert (
        theirs["data"]["createBounty"]["bounty"]["id"]
        != first["data"]["createBounty"]["bounty"]["id"]
    )
    assert await rows(session_factory, Bounty) == 2
    # Without a key every request creates.
    await graphql(CREATE, {"input": NEW_BOUNTY}, token=token)
    await graphql(CREATE, {"input": NEW_BOUNTY}, token=token)
    assert await rows(session_factory, Bounty) == 4


async def test_an_answer_lost_after_commit_is_recovered_by_repeating_the_request(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The case of the outage report: the create committed, then re-reading it failed."""
    token = token_for(settings, await create_user(session_factory))
    reread = bounty_mutations.fresh_bounty
    failures: list[Any] = []

    async def fails_once(info: Any, bounty_id: Any) -> Any:
        if not failures:
            failures.append(bounty_id)
            raise ConnectionError("the database system is shutting down")
        return await reread(info, bounty_id)

    monkeypatch.setattr(bounty_mutations, "fresh_bounty", fails_once)
    keyed = {"input": {**NEW_BOUNTY, "idempotencyKey": "lost-answer"}}
    lost = await graphql(CREATE_FULL, keyed, token=token)
    assert lost["data"] is None
    assert lost["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await rows(session_factory, Bounty) == 1  # it did commit
    again = await graphql(CREATE_FULL, keyed, token=token)
    assert again["data"]["createBounty"]["bounty"]["id"] == global_id("Bounty", failures[0])
    assert await rows(session_factory, Bounty) == 1


async def test_apply_under_one_key_happens_once_per_hunter(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    hunter, rival = await create_user(session_factory), await create_user(session_factory)
    bounty = global_id("Bounty", await insert_bounty(session_factory, poster))
    keyed = {"input": {"bountyId": bounty, "message": "I can", "idempotencyKey": "apply-1"}}
    token = token_for(settings, hunter)
    answers = await asyncio.gather(*(graphql(APPLY, keyed, token=token) for _ in range(10)))
    assert answers[0]["data"]["applyToBounty"]["__typename"] == "ApplicationSuccess"
    assert all(answer == answers[0] for answer in answers)
    assert await rows(session_factory, Application) == 1
    # Without the key a repeat is a second application, which the rules refuse.
    unkeyed = {"input": {"bountyId": bounty, "message": "I can"}}
    assert (await graphql(APPLY, unkeyed, token=token))["data"]["applyToBounty"][
        "code"
    ] == "ALREADY_APPLIED"
    other_message = {"input": {**keyed["input"], "message": "Changed my mind"}}
    refused = await graphql(APPLY, other_message, token=token)
    assert refused["data"]["applyToBounty"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    theirs = await graphql(APPLY, keyed, token=token_for(settings, rival))
    assert theirs["data"]["applyToBounty"]["__typename"] == "ApplicationSuccess"
    assert await rows(session_factory, Application) == 2


async def test_an_idempotency_key_is_1_to_100_characters(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    token = token_for(settings, await create_user(session_factory))
    long_key = {"input": {**NEW_BOUNTY, "idempotencyKey": "k" * 101}}
    refused = await graphql(CREATE_FULL, long_key, token=token)
    assert refused["data"]["createBounty"] == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "idempotency keys take 1 to 100 characters",
        "field": "idempotencyKey",
    }
    assert await rows(session_factory, Bounty) == 0
    assert await rows(session_factory, IdempotencyKey) == 0


def sign_up_input(**changes: str) -> dict[str, Any]:
    values = {
        "email": "retry@example.test",
        "password": "a long passphrase",
        "displayName": "Rita Retry",
        "idempotencyKey": "device-7f3a",
    }
    return {"input": values | changes}


async def test_sign_up_under_one_key_makes_one_account_and_answers_each_repeat(
    graphql: GraphQL, session_factory: SessionFactory
) -> None:
    counted = value("bountyexpo_sign_ups_total")
    answers = await asyncio.gather(*(graphql(SIGN_UP, sign_up_input()) for _ in range(10)))
    results = [answer["data"]["signUp"] for answer in answers]
    assert {result["__typename"] for result in results} == {"SignUpSuccess"}
    # The same account every time; each answer carries a session of its own that works.
    assert len({result["user"]["id"] for result in results}) == 1
    assert {result["user"]["email"] for result in results} == {"retry@example.test"}
    tokens = {result["session"]["refreshToken"] for result in results}
    assert len(tokens) == 10
    for result in results[:3]:
        viewer = await graphql(VIEWER, token=result["session"]["accessToken"])
        assert viewer["data"]["viewer"]["id"] == results[0]["user"]["id"]
    assert await rows(session_factory, User) == 1
    assert value("bountyexpo_sign_ups_total") == counted + 1
    async with session_factory() as session:
        actions = list(
            await session.scalars(
                select(col(IdempotencyKey.operation)).where(
                    col(IdempotencyKey.key) == "device-7f3a"
                )
            )
        )
    assert actions == ["signUp"]


async def test_sign_up_keys_refuse_other_input_and_are_scoped_by_email(
    graphql: GraphQL, session_factory: SessionFactory, engine: Any
) -> None:
    first = (await graphql(SIGN_UP, sign_up_input()))["data"]["signUp"]
    for changes in ({"password": "another passphrase 9"}, {"displayName": "Someone Else"}):
        refused = (await graphql(SIGN_UP, sign_up_input(**changes)))["data"]["signUp"]
        assert refused == {
            "__typename": "IdempotencyKeyReusedError",
            "code": "IDEMPOTENCY_KEY_REUSED",
            "message": "this idempotency key was used for a different request",
            "field": "idempotencyKey",
        }
    assert await rows(session_factory, User) == 1
    await sign_in(graphql, "retry@example.test", "a long passphrase")  # password unchanged
    # No key, or a key this account was not made under: the address is simply taken.
    for changes in ({"idempotencyKey": "another-key"},):
        taken = (await graphql(SIGN_UP, sign_up_input(**changes)))["data"]["signUp"]
        assert taken["code"] == "EMAIL_TAKEN"
    unkeyed = sign_up_input()
    del unkeyed["input"]["idempotencyKey"]
    assert (await graphql(SIGN_UP, unkeyed))["data"]["signUp"]["code"] == "EMAIL_TAKEN"
    # The same key for another address is another sign-up (there was no user to scope it by).
    other = (await graphql(SIGN_UP, sign_up_input(email="other@example.test")))["data"]["signUp"]
    assert other["__typename"] == "SignUpSuccess"
    assert other["user"]["id"] != first["user"]["id"]
    assert await count_rows(engine, User) == 2
