"""User accounts and their profiles as the API shows them.

Public: display name, role, bio, skills, location, avatar. Private (the owner and admins only;
null for everyone else): email and phone. The account status: the owner and staff.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

from app.db.models import Role, UserStatus
from app.db.models import User as UserRow
from app.monitoring.extensions import UNTIMED
from schema.context import Info
from services.bounties.cards import PersonCard
from services.viewer import Viewer

if TYPE_CHECKING:
    from schema.reviews import Review

# The table's enum is the API's: registering it keeps one list of roles.
strawberry.enum(Role, description="What an account may do beyond its own data.")


strawberry.enum(
    UserStatus, description="SUSPENDED accounts cannot sign in; DELETED ones are anonymised."
)

__all__ = ["Role", "User", "UserStatus"]


def _owner_or_admin(viewer: Viewer | None, user_id: str) -> bool:
    return viewer is not None and (viewer.is_admin or str(viewer.user_id) == user_id)


@strawberry.type(description="A person on BountyExpo: poster, hunter, or both.")
class User(relay.Node):
    id: relay.NodeID[str]
    display_name: str
    role: Role
    created_at: datetime
    bio: str | None = None
    skills: list[str] = strawberry.field(default_factory=list)
    location: str | None = None
    avatar_key: strawberry.Private[str | None] = None
    rating: float | None = strawberry.field(
        default=None, description="Average review rating (1-5); null before the first review."
    )
    review_count: int = 0
    profile_removed: bool = strawberry.field(
        default=False,
        description="A moderator removed this profile: bio, skills, location and avatar are "
        "hidden from everyone but staff and the user.",
    )
    private_email: strawberry.Private[str] = ""
    private_phone: strawberry.Private[str | None] = None
    private_status: strawberry.Private[UserStatus] = UserStatus.ACTIVE
    # Set on the user of a sign-up/sign-in payload: who just proved to be them sees their own data.
    shown_to_owner: strawberry.Private[bool] = False

    @strawberry.field(
        description="Absolute URL of the avatar image (on PUBLIC_BASE_URL, else on the origin "
        "the request was sent to); null without one.",
        metadata=UNTIMED,
    )
    def avatar_url(self, info: Info) -> str | None:
        return info.context.media_url(self.avatar_key) if self.avatar_key else None

    @strawberry.field(description="Visible to the account's owner and to admins; null otherwise.")
    def email(self, info: Info) -> str | None:
        if self.shown_to_owner or _owner_or_admin(info.context.viewer, self.id):
            return self.private_email
        return None

    @strawberry.field(description="Visible to the account's owner and to admins; null otherwise.")
    def phone(self, info: Info) -> str | None:
        if self.shown_to_owner or _owner_or_admin(info.context.viewer, self.id):
            return self.private_phone
        return None

    @strawberry.field(description="Visible to the account's owner and to staff; null otherwise.")
    def status(self, info: Info) -> UserStatus | None:
        viewer = info.context.viewer
        if self.shown_to_owner or (
            viewer is not None and (viewer.is_staff or str(viewer.user_id) == self.id)
        ):
            return self.private_status
        return None

    @strawberry.field(description="Reviews this user received, newest first (at most 50).")
    async def reviews(
        self, info: Info
    ) -> list[Annotated[Review, strawberry.lazy("schema.reviews")]]:
        from schema.reviews import Review

        cards = await info.context.loaders.reviews_by_user.load(uuid.UUID(self.id))
        viewer = info.context.viewer
        return [Review.from_card(card) for card in cards if card.visible_to(viewer)]

    @classmethod
    def from_row(
        cls,
        row: UserRow | PersonCard,
        *,
        shown_to_owner: bool = False,
        reveal_removed: bool = False,
    ) -> Self:
        """`reveal_removed`: the viewer is staff or the user, who still see a removed profile."""
        removed = row.profile_removed_at is not None
        hidden = removed and not (shown_to_owner or reveal_removed)
        return cls(
            id=str(row.id),
            display_name=row.display_name,
            role=row.role,
            created_at=row.created_at,
            bio=None if hidden else row.bio,
            skills=[] if hidden else list(row.skills or ()),
            location=None if hidden else row.location,
            avatar_key=None if hidden else row.avatar_key,
            profile_removed=removed,
            rating=round(row.rating_sum / row.rating_count, 2) if row.rating_count else None,
            review_count=row.rating_count,
            private_email=row.email,
            private_phone=row.phone,
            private_status=row.status,
            shown_to_owner=shown_to_owner,
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
