"""The bounty list: filters, sorts and keyset pages against a small data set with known answers,
and its SQL shape (the same number of statements for 1, 20 and 100 bounties)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from app.db.engine import SessionFactory
from app.db.models import ApplicationStatus, BountyImage, BountyStatus, User
from app.db.models.base import utcnow
from app.settings import Settings
from tests.bounty_factories import insert_application, insert_bounty
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

LIST = """query ($filter: BountyFilter, $sort: BountySort, $first: Int, $after: String) {
  bounties(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { title } }
  }
}"""

HOT = """query ($first: Int) { bounties(first: $first) { edges { node {
  id title reward { amount currency } poster { id displayName rating } applicationCount
  images { url }
} } } }"""

BERLIN = (52.5200, 13.4050)
# (title, description, category, reward, currency, place, remote, deadline days, status)
DATA: list[tuple[Any, ...]] = [
    (
        "Walk my dog",
        "Twice a day, friendly labrador",
        "pets",
        1500,
        "EUR",
        BERLIN,
        False,
        3,
        "OPEN",
    ),
    (
        "Dog grooming needed",
        "Poodle needs a haircut",
        "pets",
        4000,
        "EUR",
        (52.39, 13.065),
        False,
        None,
        "OPEN",
    ),
    (
        "Fix leaking kitchen tap",
        "Dripping all night",
        "handyman",
        6000,
        "EUR",
        (53.55, 9.99),
        False,
        1,
        "OPEN",
    ),
    (
        "Translate a letter",
        "English to German, one page",
        "writing",
        2500,
        "USD",
        None,
        True,
        10,
        "OPEN",
    ),
    (
        "Logo for a bakery",
        "Warm colours, a pretzel",
        "design",
        20000,
        "USD",
        None,
        True,
        None,
        "OPEN",
    ),
    (
        "Move a sofa",
        "Third floor, no lift",
        "moving",
        8000,
        "EUR",
        (48.137, 11.575),
        False,
        5,
        "OPEN",
    ),
    ("Old finished job", "A dog was walked", "pets", 900, "EUR", BERLIN, False, None, "COMPLETED"),
    ("Secret draft", "Dog sitting plans", "pets", 700, "EUR", BERLIN, False, None, "DRAFT"),
]


async def seed(session_factory: SessionFactory) -> tuple[User, User]:
    alice = await create_user(session_factory, display_name="Alice")
    bob = await create_user(session_factory, display_name="Bob")
    now = utcnow()
    for number, row in enumerate(DATA):
        title, description, category, amount, currency, place, remote, days, status = row
        await insert_bounty(
            session_factory,
            alice if number % 2 == 0 else bob,
            title=title,
            description=description,
            category=category,
            reward_amount=amount,
            reward_currency=currency,
            latitude=place[0] if place else None,
            longitude=place[1] if place else None,
            remote=remote,
            deadline=now + timedelta(days=days) if days else None,
            status=BountyStatus(status),
            created_at=now - timedelta(hours=len(DATA) - number),  # later rows are newer
        )
    return alice, bob


async def titles(graphql: GraphQL, token: str | None = None, **variables: Any) -> list[str]:
    body = await graphql(LIST, variables, token=token)
    assert "errors" not in body, body
    return [edge["node"]["title"] for edge in body["data"]["bounties"]["edges"]]


async def test_filters_and_sorts_give_the_known_answers(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    alice, bob = await seed(session_factory)
    near_berlin = {"latitude": BERLIN[0], "longitude": BERLIN[1], "radiusKm": 50}
    newest_open = [
        "Move a sofa", "Logo for a bakery", "Translate a letter", "Fix leaking kitchen tap",
        "Dog grooming needed", "Walk my dog",
    ]  # fmt: skip
    assert await titles(graphql) == newest_open
    assert await titles(graphql, filter={"text": "dog"}) == ["Dog grooming needed", "Walk my dog"]
    assert await titles(graphql, filter={"text": "german"}) == ["Translate a letter"]
    assert await titles(graphql, filter={"text": "dog", "status": ["OPEN", "COMPLETED"]}) == [
        "Old finished job",
        "Dog grooming needed",
        "Walk my dog",
    ]
    assert await titles(graphql, filter={"near": near_berlin}, sort="DISTANCE") == [
        "Walk my dog",
        "Dog grooming needed",  # Potsdam, 27 km
    ]
    wide = {**near_berlin, "radiusKm": 300}  # Hamburg is 255 km away, Munich 504 km
    assert await titles(graphql, filter={"near": wide}, sort="DISTANCE") == [
        "Walk my dog",
        "Dog grooming needed",
        "Fix leaking kitchen tap",
    ]
    assert await titles(graphql, filter={"remoteOnly": True}) == [
        "Logo for a bakery",
        "Translate a letter",
    ]
    assert await titles(graphql, filter={"category": "pets"}) == [
        "Dog grooming needed",
        "Walk my dog",
    ]
    assert await titles(
        graphql, filter={"minReward": 2000, "maxReward": 6000, "currency": "EUR"}
    ) == ["Fix leaking kitchen tap", "Dog grooming needed"]
    assert await titles(graphql, sort="REWARD") == [
        "Logo for a bakery", "Move a sofa", "Fix leaking kitchen tap", "Dog grooming needed",
        "Translate a letter", "Walk my dog",
    ]  # fmt: skip
    poster = global_id("User", alice.id)
    assert await titles(graphql, filter={"posterId": poster}) == [
        "Logo for a bakery",
        "Fix leaking kitchen tap",
        "Walk my dog",
    ]
    # Drafts: the poster's own only.
    draft = {"status": ["DRAFT"], "text": "dog"}
    assert await titles(graphql, filter=draft) == []
    assert await titles(graphql, token=token_for(settings, bob), filter=draft) == ["Secret draft"]


async def test_deadline_sort_puts_bounties_without_a_deadline_last(
    graphql: GraphQL, session_factory: SessionFactory
) -> None:
    await seed(session_factory)
    found = await titles(graphql, sort="DEADLINE")
    assert found[:4] == [
        "Fix leaking kitchen tap",
        "Walk my dog",
        "Move a sofa",
        "Translate a letter",
    ]
    assert set(found[4:]) == {"Logo for a bakery", "Dog grooming needed"}


async def test_keyset_pages_walk_the_whole_list_once(
    graphql: GraphQL, session_factory: SessionFactory
) -> None:
    await seed(session_factory)
    for sort in ("NEWEST", "REWARD", "DEADLINE"):
        seen: list[str] = []
        after = None
        while True:
            body = await graphql(LIST, {"first": 4, "after": after, "sort": sort})
            page = body["data"]["bounties"]
            assert page["totalCount"] == 6
            assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
            seen += [edge["node"]["title"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == await titles(graphql, sort=sort, first=100), sort


async def test_bad_list_arguments_are_refused(graphql: GraphQL) -> None:
    cases = [
        ({"first": 101}, "first"),
        ({"after": "not-a-cursor"}, "after"),
        ({"sort": "DISTANCE"}, "sort"),
        ({"filter": {"near": {"latitude": 99, "longitude": 0, "radiusKm": 5}}}, "filter.near"),
    ]
    for variables, field in cases:
        body = await graphql(LIST, variables)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", variables
        assert body["errors"][0]["extensions"]["field"] == field


async def _many(session_factory: SessionFactory, count: int) -> None:
    posters = [await create_user(session_factory) for _ in range(3)]
    hunter = await create_user(session_factory)
    for number in range(count):
        bounty_id = await insert_bounty(session_factory, posters[number % 3])
        if number % 2 == 0:
            await insert_application(session_factory, bounty_id, hunter)
        if number % 3 == 0:
            async with session_factory() as session, session.begin():
                await session.execute(
                    insert(BountyImage).values(
                        bounty_id=bounty_id,
                        key=f"bounties/{bounty_id}/{uuid.uuid4().hex}.png",
                        position=0,
                        width=10,
                        height=10,
                    )
                )


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_the_hot_list_costs_the_same_statements_for_any_page_size(
    graphql: GraphQL,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
    size: int,
) -> None:
    await _many(session_factory, size)
    sql_statements.statements.clear()
    body = await graphql(HOT, {"first": size})
    edges = body["data"]["bounties"]["edges"]
    assert len(edges) == size
    # One statement: bounties, posters, counts and images together (see services/bounties/cards).
    assert sql_statements.count == 1, sql_statements.statements
    counts = sorted(edge["node"]["applicationCount"] for edge in edges)
    assert counts == sorted((1 if n % 2 == 0 else 0) for n in range(size))
    assert sum(len(edge["node"]["images"]) for edge in edges) == len(range(0, size, 3))
    assert all(
        edge["node"]["images"][0]["url"].startswith("http://testserver/media/bounties/")
        for edge in edges
        if edge["node"]["images"]
    )


async def test_application_counts_leave_out_withdrawn_ones(
    graphql: GraphQL, session_factory: SessionFactory
) -> None:
    poster = await create_user(session_factory)
    bounty_id = await insert_bounty(session_factory, poster)
    for status in ApplicationStatus:
        await insert_application(
            session_factory, bounty_id, await create_user(session_factory), status=status
        )
    body = await graphql(HOT, {"first": 5})
    assert body["data"]["bounties"]["edges"][0]["node"]["applicationCount"] == 3
