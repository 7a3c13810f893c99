"""Small factories that write real rows, and tokens for them."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from strawberry import relay

from app.db.engine import SessionFactory
from app.db.models import Role, User, UserStatus
from app.security.jwt import issue_access_token
from app.settings import Settings
from services.passwords import hash_password

_sequence = itertools.count(1)
PASSWORD = "correct-horse-battery"
# Hashing is deliberately slow (argon2id, ~84 ms): hash once per run, share it between users.
PASSWORD_HASH = hash_password(PASSWORD)


async def create_user(
    session_factory: SessionFactory,
    *,
    display_name: str | None = None,
    email: str | None = None,
    role: Role = Role.USER,
    status: UserStatus = UserStatus.ACTIVE,
) -> User:
    number = next(_sequence)
    user = User(
        email=email or f"user{number}@example.test",
        password_hash=PASSWORD_HASH,
        display_name=display_name or f"User {number}",
        role=role,
        status=status,
    )
    async with session_factory() as session, session.begin():
        session.add(user)
    return user


def token_for(settings: Settings, user: User, *, now: datetime | None = None) -> str:
    return issue_access_token(settings, user_id=user.id, role=user.role, now=now)


def global_id(type_name: str, raw_id: uuid.UUID | str) -> str:
    return relay.to_base64(type_name, str(raw_id))
