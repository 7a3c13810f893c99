"""GraphQL documents and helpers for identity tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.db.models import AuditEvent
from tests.conftest import GraphQL
from tests.factories import PASSWORD

SESSION_FIELDS = "accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt"

SIGN_UP = f"""
mutation ($input: SignUpInput!) {{
  signUp(input: $input) {{
    __typename
    ... on SignUpSuccess {{ user {{ id email displayName role }} session {{ {SESSION_FIELDS} }} }}
    ... on UserError {{ code message field }}
  }}
}}"""

SIGN_IN = f"""
mutation ($email: String!, $password: String!) {{
  signIn(input: {{email: $email, password: $password}}) {{
    __typename
    ... on SignInSuccess {{ user {{ id email }} session {{ {SESSION_FIELDS} }} }}
    ... on UserError {{ code message field }}
  }}
}}"""

REFRESH = f"""
mutation ($token: String!) {{
  refreshSession(refreshToken: $token) {{
    __typename
    ... on RefreshSessionSuccess {{ user {{ id }} session {{ {SESSION_FIELDS} }} }}
    ... on UserError {{ code message }}
  }}
}}"""

SIGN_OUT = """
mutation ($token: String) {
  signOut(refreshToken: $token) { __typename ... on UserError { code message } }
}"""

VIEWER = "{ viewer { id email } }"


async def sign_in(graphql: GraphQL, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """The session of a successful sign-in."""
    body = await graphql(SIGN_IN, {"email": email, "password": password})
    result = body["data"]["signIn"]
    assert result["__typename"] == "SignInSuccess", body
    session: dict[str, Any] = result["session"]
    return session


async def refresh(graphql: GraphQL, token: str) -> dict[str, Any]:
    body = await graphql(REFRESH, {"token": token})
    result: dict[str, Any] = body["data"]["refreshSession"]
    return result


async def audit_actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(col(AuditEvent.action)).order_by(col(AuditEvent.id)))
        return [row[0] for row in rows]


async def count_rows(engine: AsyncEngine, model: Any) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model)) or 0)
