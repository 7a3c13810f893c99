"""Reading users. Writes (sign-up, profiles, roles) arrive with the identity work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import User, UserStatus


async def users_by_id(
    session_factory: SessionFactory, ids: Sequence[uuid.UUID]
) -> list[User | None]:
    """Batch for the `user_by_id` loader: one query, results in the order asked.

    Deleted accounts are invisible, as if they had never existed.
    """
    async with session_factory() as session:
        rows = await session.scalars(
            select(User).where(col(User.id).in_(ids), col(User.status) != UserStatus.DELETED)
        )
        found = {user.id: user for user in rows}
    return [found.get(user_id) for user_id in ids]
