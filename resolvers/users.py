"""Root fields about accounts."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.users import User


@strawberry.type
class UserQueries:
    @strawberry.field(description="The signed-in user; null for an anonymous client.")
    async def viewer(self, info: Info) -> User | None:
        viewer = info.context.viewer
        if viewer is None:
            return None
        row = await info.context.loaders.user_by_id.load(viewer.user_id)
        return User.from_row(row) if row is not None else None
