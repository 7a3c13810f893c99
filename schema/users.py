"""User accounts as the API shows them. Private fields: visible to the owner and admins only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry import relay

from app.db.models import Role
from app.db.models import User as UserRow
from schema.context import Info

# The table's enum is the API's: registering it keeps one list of roles.
strawberry.enum(Role, description="What an account may do beyond its own data.")


@strawberry.type(description="A person on BountyExpo: poster, hunter, or both.")
class User(relay.Node):
    id: relay.NodeID[str]
    display_name: str
    role: Role
    created_at: datetime
    private_email: strawberry.Private[str]

    @strawberry.field(description="Visible to the account's owner and to admins; null otherwise.")
    def email(self, info: Info) -> str | None:
        viewer = info.context.viewer
        if viewer is not None and (viewer.is_admin or str(viewer.user_id) == self.id):
            return self.private_email
        return None

    @classmethod
    def from_row(cls, row: UserRow) -> Self:
        return cls(
            id=str(row.id),
            display_name=row.display_name,
            role=row.role,
            created_at=row.created_at,
            private_email=row.email,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        wanted = [parse_uuid(node_id) for node_id in node_ids]
        valid = [user_id for user_id in wanted if user_id is not None]
        rows = dict(zip(valid, await info.context.loaders.user_by_id.load_many(valid), strict=True))
        return [
            cls.from_row(row) if user_id is not None and (row := rows[user_id]) else None
            for user_id in wanted
        ]


def parse_uuid(value: str) -> uuid.UUID | None:
    """Node ids carry UUIDs; a malformed one resolves to null, as an unknown id does."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
