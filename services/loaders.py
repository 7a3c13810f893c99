"""Per-request DataLoaders. Build them per request: a DataLoader binds the running event loop."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aiodataloader import DataLoader

from app.db.engine import SessionFactory
from app.db.models import User
from services import users


@dataclass(frozen=True, slots=True)
class Loaders:
    user_by_id: DataLoader[uuid.UUID, User | None]


def create_loaders(session_factory: SessionFactory) -> Loaders:
    async def load_users(ids: list[uuid.UUID]) -> list[User | None]:
        return await users.users_by_id(session_factory, ids)

    return Loaders(user_by_id=DataLoader(load_users))
