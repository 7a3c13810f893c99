"""Who may read and change what: users A and B, a moderator, an admin and an anonymous client
against every profile field and every mutation that targets A. Refusals change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import Role, User
from app.settings import Settings
from services.identity import Identity
from tests.conftest import GraphQL
from tests.factories import PASSWORD, create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

ACTORS = ("A", "B", "moderator", "admin", "anonymous")
TABLES = ("users", "refresh_tokens", "revoked_tokens", "password_reset_tokens", "audit_events")


@dataclass
class World:
    ids: dict[str, str]
    tokens: dict[str, str | None]


async def build_world(
    settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> World:
    a = await create_user(session_factory, email="a@example.test", display_name="Alice")
    b = await create_user(session_factory, email="b@example.test", display_name="Bob")
    moderator = await create_user(session_factory, role=Role.MODERATOR)
    admin = await create_user(session_factory, role=Role.ADMIN)
    async with engine.begin() as connection:
        await connection.execute(
            update(User)
            .where(User.id == a.id)  # type: ignore[arg-type]
            .values(
                bio="Builds things", skills=["welding"], location="Lyon", phone="+33 1 23 45 67 89"
            )
        )
    users = {"A": a, "B": b, "moderator": moderator, "admin": admin}
    return World(
        ids={name: global_id("User", user.id) for name, user in users.items()},
        tokens={
            **{name: token_for(settings, user) for name, user in users.items()},
            "anonymous": None,
        },
    )


async def snapshot(engine: AsyncEngine) -> dict[str, list[Any]]:
    tables: dict[str, list[Any]] = {}
    async with engine.connect() as connection:
        for table in TABLES:
            rows = await connection.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608
            tables[table] = sorted(map(repr, rows.all()))
    return tables


PROFILE = """query ($id: ID!) {
  profile(id: $id) { displayName role bio skills location avatarUrl email phone status }
}"""
PUBLIC = {
    "displayName": "Alice",
    "role": "USER",
    "bio": "Builds things",
    "skills": ["welding"],
    "location": "Lyon",
    "avatarUrl": None,
}
PRIVATE = {"email": "a@example.test", "phone": "+33 1 23 45 67 89"}
HIDDEN = {"email": None, "phone": None}


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("A", {**PUBLIC, **PRIVATE, "status": "ACTIVE"}),
        ("B", {**PUBLIC, **HIDDEN, "status": None}),
        ("moderator", {**PUBLIC, **HIDDEN, "status": "ACTIVE"}),
        ("admin", {**PUBLIC, **PRIVATE, "status": "ACTIVE"}),
        ("anonymous", {**PUBLIC, **HIDDEN, "status": None}),
    ],
)
async def test_profile_fields_by_viewer(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    actor: str,
    expected: dict[str, Any],
) -> None:
    world = await build_world(settings, session_factory, engine)
    body = await graphql(PROFILE, {"id": world.ids["A"]}, token=world.tokens[actor])
    assert body == {"data": {"profile": expected}}
    fields = " ".join(expected)
    node = await graphql(
        f"query ($id: ID!) {{ node(id: $id) {{ ... on User {{ {fields} }} }} }}",
        {"id": world.ids["A"]},
        token=world.tokens[actor],
    )
    assert node == {"data": {"node": expected}}


def _mutation(field: str, input_type: str, success: str) -> str:
    return f"""mutation ($input: {input_type}!) {{
  {field}(input: $input) {{ __typename ... on UserError {{ code }} }}
}}"""


MUTATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # name: (field, document, input with "@A" for A's id)
    "update public text": (
        "updateProfile",
        _mutation("updateProfile", "UpdateProfileInput", "UpdateProfileSuccess"),
        {"userId": "@A", "bio": "edited", "displayName": "Edited"},
    ),
    "update private phone": (
        "updateProfile",
        _mutation("updateProfile", "UpdateProfileInput", "UpdateProfileSuccess"),
        {"userId": "@A", "phone": "+1 555 0100"},
    ),
    "set role": (
        "setUserRole",
        _mutation("setUserRole", "SetUserRoleInput", "SetUserRoleSuccess"),
        {"userId": "@A", "role": "MODERATOR"},
    ),
    "suspend": (
        "setUserStatus",
        _mutation("setUserStatus", "SetUserStatusInput", "SetUserStatusSuccess"),
        {"userId": "@A", "status": "SUSPENDED"},
    ),
    "delete account": (
        "deleteAccount",
        _mutation("deleteAccount", "DeleteAccountInput", "DeleteAccountSuccess"),
        {"userId": "@A", "password": PASSWORD},
    ),
}

OK = "ok"
# Per mutation, per actor: OK, a UserError code in the result, or a request-level error code.
EXPECTED: dict[str, dict[str, str]] = {
    "update public text": {
        "A": OK,
        "B": "NOT_ALLOWED",
        "moderator": OK,
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "update private phone": {
        "A": OK,
        "B": "NOT_ALLOWED",
        "moderator": "NOT_ALLOWED",
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "set role": {
        "A": "FORBIDDEN",
        "B": "FORBIDDEN",
        "moderator": "FORBIDDEN",
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "suspend": {
        "A": "FORBIDDEN",
        "B": "FORBIDDEN",
        "moderator": OK,
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "delete account": {
        "A": OK,
        "B": "NOT_ALLOWED",
        "moderator": "NOT_ALLOWED",
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
}
REQUEST_LEVEL = {"FORBIDDEN", "UNAUTHENTICATED"}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
async def test_mutations_on_a_by_actor(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    identity: Identity,
    mutation: str,
    actor: str,
) -> None:
    world = await build_world(settings, session_factory, engine)
    field, document, raw_input = MUTATIONS[mutation]
    variables = {"input": {k: world.ids["A"] if v == "@A" else v for k, v in raw_input.items()}}
    before = await snapshot(engine)
    body = await graphql(document, variables, token=world.tokens[actor])
    expected = EXPECTED[mutation][actor]
    if expected == OK:
        assert body["data"][field]["__typename"].endswith("Success"), body
        assert await snapshot(engine) != before
        return
    if expected in REQUEST_LEVEL:
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == [expected]
    else:
        assert body["data"][field]["code"] == expected
    assert await snapshot(engine) == before


async def test_staff_limits_on_staff(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    """Moderators cannot suspend staff; nobody changes their own role or status."""
    world = await build_world(settings, session_factory, engine)
    suspend = MUTATIONS["suspend"][1]
    role = MUTATIONS["set role"][1]
    cases = [
        (
            suspend,
            {"userId": world.ids["admin"], "status": "SUSPENDED"},
            "moderator",
            "setUserStatus",
        ),
        (
            suspend,
            {"userId": world.ids["moderator"], "status": "SUSPENDED"},
            "moderator",
            "setUserStatus",
        ),
        (suspend, {"userId": world.ids["admin"], "status": "SUSPENDED"}, "admin", "setUserStatus"),
        (role, {"userId": world.ids["admin"], "role": "USER"}, "admin", "setUserRole"),
    ]
    before = await snapshot(engine)
    for document, payload, actor, field in cases:
        body = await graphql(document, {"input": payload}, token=world.tokens[actor])
        assert body["data"][field] == {"__typename": "NotAllowedError", "code": "NOT_ALLOWED"}
    assert await snapshot(engine) == before


async def test_role_change_takes_effect_at_once(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    identity: Identity,
) -> None:
    world = await build_world(settings, session_factory, engine)
    document = MUTATIONS["set role"][1]
    body = await graphql(
        document,
        {"input": {"userId": world.ids["A"], "role": "ADMIN"}},
        token=world.tokens["admin"],
    )
    assert body["data"]["setUserRole"]["__typename"] == "SetUserRoleSuccess"
    # A's token still says USER: it is void, so the role cannot be stale.
    stale = await graphql("{ viewer { id } }", token=world.tokens["A"], status=401)
    assert stale["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
