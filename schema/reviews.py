"""Reviews as the API shows them: public, like the profile they belong to."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from schema.context import Info
from services.bounties.reviews import ReviewCard

if TYPE_CHECKING:
    from schema.bounties import Bounty
    from schema.users import User


@strawberry.type(description="One side's rating of the other after a completed bounty.")
class Review:
    id: strawberry.ID
    rating: int
    text: str
    created_at: datetime
    card: strawberry.Private[ReviewCard]

    @strawberry.field
    async def author(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        from schema.users import User

        row = await info.context.loaders.user_by_id.load(self.card.author_id)
        return User.from_row(row) if row is not None else None

    @strawberry.field
    async def bounty(
        self, info: Info
    ) -> Annotated[Bounty, strawberry.lazy("schema.bounties")] | None:
        from schema.bounties import load_bounty

        return await load_bounty(info, self.card.bounty_id)

    @classmethod
    def from_card(cls, card: ReviewCard) -> Self:
        return cls(
            id=strawberry.ID(relay.to_base64("Review", str(card.id))),
            rating=card.rating,
            text=card.text,
            created_at=card.created_at,
            card=card,
        )
