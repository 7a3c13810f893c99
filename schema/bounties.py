"""Bounties and applications as the API shows them.

Every Bounty is built from a `BountyCard` (services/bounties/cards.py), which already carries its
poster, application count and images: those fields are plain attributes, not resolvers, so a page
of bounties resolves them without a loader round or a per-field await. Fields that need more
(hunter, applications, history) go through the per-request loaders.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry import relay

from app.db.models import ApplicationStatus, BountyStatus
from app.monitoring.extensions import UNTIMED
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError
from schema.pagination import Connection
from schema.users import User, parse_uuid
from services.bounties.cards import BountyCard, ImageCard
from services.bounties.queries import (
    ApplicationCard,
    HistoryEntry,
    may_see_applications,
    may_see_history,
)
from services.errors import InvalidInput
from services.pagination import decode_cursor, page_size

strawberry.enum(
    BountyStatus,
    description="DRAFT -> FUNDING_PENDING -> OPEN -> ASSIGNED -> SUBMITTED <-> "
    "CHANGES_REQUESTED -> COMPLETED; or CANCELLED, EXPIRED, DISPUTED.",
)
strawberry.enum(ApplicationStatus, description="PENDING until accepted, rejected or withdrawn.")

__all__ = ["ApplicationStatus", "Bounty", "BountyApplication", "BountyStatus", "Money"]


@strawberry.type(description="An amount in integer minor units (cents) of an ISO 4217 currency.")
class Money:
    amount: int
    currency: str


@strawberry.type(description="Where the work happens.")
class BountyLocation:
    latitude: float
    longitude: float
    place_name: str | None


@strawberry.type
class BountyImage:
    id: strawberry.ID
    width: int
    height: int
    key: strawberry.Private[str]

    @strawberry.field(
        description="Absolute URL of the image (on PUBLIC_BASE_URL, else on the origin the "
        "request was sent to).",
        metadata=UNTIMED,
    )
    def url(self, info: Info) -> str:
        return info.context.media_url(self.key)

    @classmethod
    def from_card(cls, card: ImageCard) -> Self:
        return cls(id=strawberry.ID(card.id), width=card.width, height=card.height, key=card.key)


@strawberry.type(description="One lifecycle transition: who, when, from, to, and why.")
class BountyHistoryEntry:
    from_status: BountyStatus | None
    to_status: BountyStatus
    note: str | None
    at: datetime
    actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Who made the change; null for the system (e.g. expiry).")
    async def actor(self, info: Info) -> User | None:
        if self.actor_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.actor_id)
        return User.from_row(row) if row is not None else None


@strawberry.type(description="A task with a reward, posted by one user for hunters to do.")
class Bounty(relay.Node):
    id: relay.NodeID[str]
    title: str
    description: str = strawberry.field(description="Plain text, never rendered as HTML.")
    category: str
    status: BountyStatus
    reward: Money
    location: BountyLocation | None
    remote: bool
    deadline: datetime | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    poster: User
    application_count: int = strawberry.field(description="Applications not withdrawn.")
    images: list[BountyImage]
    card: strawberry.Private[BountyCard]

    @strawberry.field(description="The hunter whose application was accepted.")
    async def hunter(self, info: Info) -> User | None:
        if self.card.hunter_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.card.hunter_id)
        return User.from_row(row) if row is not None else None

    @strawberry.field(description="The poster and staff only; null for everyone else.")
    async def applications(self, info: Info) -> list[BountyApplication] | None:
        if not may_see_applications(info.context.viewer, self.card):
            return None
        cards = await info.context.loaders.applications_by_bounty.load(self.card.id)
        return [BountyApplication.from_card(card) for card in cards]

    @strawberry.field(
        description="The poster and staff only; null for everyone else. Oldest first, in pages "
        "(`first` at most 100): the paginated form of `applications`."
    )
    async def applications_connection(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[BountyApplication] | None:
        if not may_see_applications(info.context.viewer, self.card):
            return None
        try:
            key = (self.card.id, page_size(first), after)
            if after is not None:
                decode_cursor(after)
            page = await info.context.loaders.application_page_by_bounty.load(key)
        except InvalidInput as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Connection.from_page(page, BountyApplication.from_card)

    @strawberry.field(description="Poster, assigned hunter and staff only; null otherwise.")
    async def history(self, info: Info) -> list[BountyHistoryEntry] | None:
        if not may_see_history(info.context.viewer, self.card):
            return None
        entries = await info.context.loaders.history_by_bounty.load(self.card.id)
        return [_history(entry) for entry in entries]

    @classmethod
    def from_card(cls, card: BountyCard) -> Self:
        return cls(
            id=str(card.id),
            title=card.title,
            description=card.description,
            category=card.category,
            status=card.status,
            reward=Money(amount=card.reward_amount, currency=card.reward_currency),
            location=BountyLocation(
                latitude=card.latitude, longitude=card.longitude, place_name=card.place_name
            )
            if card.latitude is not None and card.longitude is not None
            else None,
            remote=card.remote,
            deadline=card.deadline,
            published_at=card.published_at,
            created_at=card.created_at,
            updated_at=card.updated_at,
            poster=User.from_row(card.poster),
            application_count=card.application_count,
            images=[BountyImage.from_card(image) for image in card.images],
            card=card,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        """One loader batch (one statement) for all of them, like `User.resolve_nodes`."""
        wanted = [parse_uuid(node_id) for node_id in node_ids]
        valid = [bounty_id for bounty_id in wanted if bounty_id is not None]
        loaded = await info.context.loaders.bounty_by_id.load_many(valid)
        cards = dict(zip(valid, loaded, strict=True))
        viewer = info.context.viewer
        return [
            cls.from_card(card)
            if bounty_id is not None and (card := cards[bounty_id]) and card.visible_to(viewer)
            else None
            for bounty_id in wanted
        ]


def _history(entry: HistoryEntry) -> BountyHistoryEntry:
    return BountyHistoryEntry(
        from_status=entry.from_status,
        to_status=entry.to_status,
        note=entry.note,
        at=entry.at,
        actor_id=entry.actor_id,
    )


async def load_bounty(info: Info, bounty_id: uuid.UUID) -> Bounty | None:
    """Through the loader; null when unknown or not visible to the viewer."""
    card = await info.context.loaders.bounty_by_id.load(bounty_id)
    if card is None or not card.visible_to(info.context.viewer):
        return None
    return Bounty.from_card(card)


@strawberry.type(description="A hunter's offer to do a bounty.")
class BountyApplication:
    id: strawberry.ID
    message: str
    proposed_amount: Money | None
    status: ApplicationStatus
    created_at: datetime
    updated_at: datetime
    card: strawberry.Private[ApplicationCard]

    @strawberry.field(metadata=UNTIMED)
    def hunter(self) -> User | None:
        # Read with the application (services/bounties/queries.py): no loader round.
        row = self.card.hunter
        return User.from_row(row) if row is not None else None

    @strawberry.field
    async def bounty(self, info: Info) -> Bounty | None:
        return await load_bounty(info, self.card.bounty_id)

    @classmethod
    def from_card(cls, card: ApplicationCard) -> Self:
        return cls(
            id=strawberry.ID(relay.to_base64("BountyApplication", str(card.id))),
            message=card.message,
            proposed_amount=Money(amount=card.proposed_amount, currency=card.currency)
            if card.proposed_amount is not None
            else None,
            status=card.status,
            created_at=card.created_at,
            updated_at=card.updated_at,
            card=card,
        )
