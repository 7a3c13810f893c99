"""Sign-up, sign-in, sign-out, password change and reset, through the real app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import AuditEvent, PasswordResetToken, RefreshToken, User
from services.identity import Identity
from services.mail import LogMailSender
from services.passwords import verify_password
from tests.auth_helpers import (
    SIGN_IN,
    SIGN_OUT,
    SIGN_UP,
    VIEWER,
    audit_actions,
    count_rows,
    refresh,
    sign_in,
)
from tests.conftest import GraphQL
from tests.factories import PASSWORD, create_user

pytestmark = pytest.mark.asyncio

NEW_PASSWORD = "a much better passphrase"


async def test_sign_up_normalises_email_and_signs_in(
    graphql: GraphQL, engine: AsyncEngine, identity: Identity
) -> None:
    body = await graphql(
        SIGN_UP,
        {
            "input": {
                "email": "  Ada@Example.TEST ",
                "password": NEW_PASSWORD,
                "displayName": " Ada  L ",
            }
        },
    )
    result = body["data"]["signUp"]
    assert result["__typename"] == "SignUpSuccess"
    assert result["user"]["email"] == "ada@example.test"
    assert result["user"]["displayName"] == "Ada L"
    assert result["user"]["role"] == "USER"
    viewer = await graphql(VIEWER, token=result["session"]["accessToken"])
    assert viewer["data"]["viewer"]["email"] == "ada@example.test"
    async with engine.connect() as connection:
        stored = await connection.scalar(select(col(User.password_hash)))
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await audit_actions(engine) == ["auth.sign_up"]


@pytest.mark.parametrize(
    ("email", "password", "code", "field"),
    [
        ("TAKEN@example.test", NEW_PASSWORD, "EMAIL_TAKEN", "input.email"),
        ("new@example.test", "short", "WEAK_PASSWORD", "input.password"),
        ("new@example.test", "Password123", "WEAK_PASSWORD", "input.password"),
        ("new.person@example.test", "new.person@example.test", "WEAK_PASSWORD", "input.password"),
        ("not-an-email", NEW_PASSWORD, "INVALID_INPUT", "input.email"),
    ],
)
async def test_sign_up_refusals_change_nothing(
    graphql: GraphQL,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    email: str,
    password: str,
    code: str,
    field: str,
) -> None:
    await create_user(session_factory, email="taken@example.test")
    body = await graphql(
        SIGN_UP, {"input": {"email": email, "password": password, "displayName": "New"}}
    )
    assert body["data"]["signUp"]["code"] == code
    assert body["data"]["signUp"]["field"] == field
    assert await count_rows(engine, User) == 1
    assert await count_rows(engine, RefreshToken) == 0


async def test_sign_in_failures_are_indistinguishable_and_audited(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory, email="known@example.test")
    wrong = await graphql(SIGN_IN, {"email": "known@example.test", "password": "wrong password!"})
    unknown = await graphql(SIGN_IN, {"email": "nobody@example.test", "password": PASSWORD})
    expected = {
        "__typename": "InvalidCredentialsError",
        "code": "INVALID_CREDENTIALS",
        "message": "wrong email or password",
        "field": None,
    }
    assert wrong["data"]["signIn"] == expected
    assert unknown["data"]["signIn"] == expected
    assert await audit_actions(engine) == ["auth.sign_in_failed", "auth.sign_in_failed"]
    async with engine.connect() as connection:
        columns = (col(AuditEvent.target_id), col(AuditEvent.ip), col(AuditEvent.detail))
        rows = (await connection.execute(select(*columns))).all()
    assert [(row.target_id, row.ip, row.detail) for row in rows] == [
        (user.id, "127.0.0.1", {}),
        (None, "127.0.0.1", {"email": "nobody@example.test"}),
    ]
    assert await count_rows(engine, RefreshToken) == 0


async def test_audit_log_never_holds_secrets(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    session = await sign_in(graphql, user.email)
    await refresh(graphql, session["refreshToken"])
    await graphql(SIGN_OUT, token=session["accessToken"])
    async with engine.connect() as connection:
        dump = str((await connection.exec_driver_sql("SELECT * FROM audit_events")).all())
    for secret in (PASSWORD, session["accessToken"], session["refreshToken"]):
        assert secret not in dump
    assert await audit_actions(engine) == ["auth.sign_in", "auth.sign_out"]


async def test_sign_in_rehashes_weaker_hashes(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with engine.begin() as connection:
        await connection.execute(update(User).values(password_hash=weak))
    await sign_in(graphql, user.email)
    async with engine.connect() as connection:
        stored = await connection.scalar(select(col(User.password_hash)))
    assert stored != weak
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(stored, PASSWORD)


async def test_sign_out_with_only_the_refresh_token(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    session = await sign_in(graphql, user.email)
    body = await graphql(SIGN_OUT, {"token": session["refreshToken"]})
    assert body == {"data": {"signOut": {"__typename": "SignOutSuccess"}}}
    assert (await refresh(graphql, session["refreshToken"]))["code"] == "INVALID_REFRESH_TOKEN"
    # The session's access token died with it (the `sid` denylist entry).
    assert (await graphql(VIEWER, token=session["accessToken"], status=401))["data"] is None
    anonymous = await graphql(SIGN_OUT)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    unknown = await graphql(SIGN_OUT, {"token": "nope"})
    assert unknown["data"]["signOut"]["code"] == "INVALID_REFRESH_TOKEN"


async def test_sign_out_everywhere_ends_every_session(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    other = await create_user(session_factory)
    first, second = await sign_in(graphql, user.email), await sign_in(graphql, user.email)
    bystander = await sign_in(graphql, other.email)
    body = await graphql(
        "mutation { signOutEverywhere { ... on SignOutEverywhereSuccess { sessionsEnded } } }",
        token=first["accessToken"],
    )
    assert body == {"data": {"signOutEverywhere": {"sessionsEnded": 2}}}
    for session in (first, second):
        assert (await graphql(VIEWER, token=session["accessToken"], status=401))["data"] is None
        assert (await refresh(graphql, session["refreshToken"]))["code"] == "INVALID_REFRESH_TOKEN"
    assert (await graphql(VIEWER, token=bystander["accessToken"]))["data"]["viewer"] is not None
    again = await sign_in(graphql, user.email)  # signing in afterwards works at once
    assert (await graphql(VIEWER, token=again["accessToken"]))["data"]["viewer"] is not None


CHANGE = """mutation ($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) {
    __typename
    ... on ChangePasswordSuccess { session { accessToken refreshToken } }
    ... on UserError { code field }
  }
}"""


async def test_change_password_revokes_other_sessions(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    phone, laptop = await sign_in(graphql, user.email), await sign_in(graphql, user.email)
    wrong = await graphql(
        CHANGE, {"current": "not my password", "new": NEW_PASSWORD}, token=phone["accessToken"]
    )
    assert wrong["data"]["changePassword"] == {
        "__typename": "InvalidCredentialsError",
        "code": "INVALID_CREDENTIALS",
        "field": "input.currentPassword",
    }
    weak = await graphql(
        CHANGE, {"current": PASSWORD, "new": "qwertyuiop"}, token=phone["accessToken"]
    )
    assert weak["data"]["changePassword"]["code"] == "WEAK_PASSWORD"
    assert (await graphql(VIEWER, token=laptop["accessToken"]))["data"]["viewer"] is not None
    body = await graphql(
        CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=phone["accessToken"]
    )
    fresh = body["data"]["changePassword"]["session"]
    for old in (phone, laptop):
        assert (await graphql(VIEWER, token=old["accessToken"], status=401))["data"] is None
        assert (await refresh(graphql, old["refreshToken"]))["code"] == "INVALID_REFRESH_TOKEN"
    assert (await graphql(VIEWER, token=fresh["accessToken"]))["data"]["viewer"] is not None
    await sign_in(graphql, user.email, NEW_PASSWORD)
    assert (await audit_actions(engine))[:2] == ["auth.sign_in", "auth.sign_in"]
    assert "auth.password_change_failed" in await audit_actions(engine)
    assert "auth.password_changed" in await audit_actions(engine)


RESET = """mutation ($token: String!, $new: String!) {
  resetPassword(input: {token: $token, newPassword: $new}) {
    __typename ... on UserError { code }
  }
}"""
REQUEST_RESET = """mutation ($email: String!) {
  requestPasswordReset(email: $email) {
    __typename ... on RequestPasswordResetSuccess { email } ... on UserError { code }
  }
}"""


async def test_password_reset_by_mail_is_single_use(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory, email="forgetful@example.test")
    session = await sign_in(graphql, user.email)
    outbox = identity.mail.outbox if isinstance(identity.mail, LogMailSender) else None
    assert outbox is not None
    for email in ("Forgetful@Example.test", "stranger@example.test"):
        body = await graphql(REQUEST_RESET, {"email": email})
        assert body["data"]["requestPasswordReset"] == {
            "__typename": "RequestPasswordResetSuccess",
            "email": email.lower(),
        }
    [mail] = outbox  # nothing is sent for an address without an account
    assert mail.to == "forgetful@example.test"
    match = re.search(r"Your reset code: (\S+)", mail.body)
    assert match is not None
    token = match.group(1)
    async with engine.connect() as connection:
        stored = await connection.scalar(select(col(PasswordResetToken.token_hash)))
    assert stored is not None
    assert token not in stored
    assert len(stored) == 64
    assert (await graphql(RESET, {"token": token, "new": "qwertyuiop"}))["data"]["resetPassword"][
        "code"
    ] == "WEAK_PASSWORD"
    body = await graphql(RESET, {"token": token, "new": NEW_PASSWORD})
    assert body == {"data": {"resetPassword": {"__typename": "ResetPasswordSuccess"}}}
    again = await graphql(RESET, {"token": token, "new": "yet another passphrase"})
    assert again["data"]["resetPassword"]["code"] == "INVALID_RESET_TOKEN"
    assert (await graphql(VIEWER, token=session["accessToken"], status=401))["data"] is None
    await sign_in(graphql, user.email, NEW_PASSWORD)


async def test_password_reset_expires_after_30_minutes(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    await graphql(REQUEST_RESET, {"email": user.email})
    assert isinstance(identity.mail, LogMailSender)
    match = re.search(r"Your reset code: (\S+)", identity.mail.outbox[-1].body)
    assert match is not None
    async with engine.begin() as connection:
        await connection.execute(
            update(PasswordResetToken).values(
                expires_at=PasswordResetToken.created_at - timedelta(seconds=1)
            )
        )
    body = await graphql(RESET, {"token": match.group(1), "new": NEW_PASSWORD})
    assert body["data"]["resetPassword"]["code"] == "INVALID_RESET_TOKEN"
    async with engine.connect() as connection:
        stored = await connection.scalar(select(col(User.password_hash)))
    assert stored is not None
    assert verify_password(stored, PASSWORD)
