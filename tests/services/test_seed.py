"""Demo data: realistic accounts, and a second run changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db.engine import SessionFactory
from app.db.models import Role, User
from services.passwords import verify_password
from services.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo_data

pytestmark = pytest.mark.asyncio


async def test_seed_is_idempotent(session_factory: SessionFactory) -> None:
    async with session_factory() as session, session.begin():
        assert await seed_demo_data(session) == len(DEMO_USERS)
    async with session_factory() as session, session.begin():
        assert await seed_demo_data(session) == 0
    async with session_factory() as session:
        users = list(await session.scalars(select(User).order_by(User.email)))
    assert sorted(user.email for user in users) == sorted(user.email for user in DEMO_USERS)
    assert {user.role for user in users} == {Role.USER, Role.MODERATOR, Role.ADMIN}
    assert verify_password(users[0].password_hash, DEMO_PASSWORD)
