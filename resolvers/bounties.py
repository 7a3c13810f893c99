"""Root fields for reading bounties, and the `bountyUpdated` subscription."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry import relay

from app.broker import Event
from app.db.models import ApplicationStatus as ApplicationStatusRow
from app.db.models import BountyStatus as BountyStatusRow
from app.realtime.live import Live, subscription
from app.security.permissions import IsAuthenticated
from resolvers.lists import connection
from resolvers.mutations import node_uuid, require_viewer
from schema.bounties import ApplicationStatus, Bounty, BountyApplication, BountyStatus, load_bounty
from schema.bounty_inputs import BountyFilter, BountySort
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError
from schema.pagination import Connection
from services.bounties import cards, lifecycle, queries, search
from services.errors import InvalidInput
from services.viewer import Viewer


def _wants(info: Info, name: str) -> bool:
    return any(
        getattr(selection, "name", None) == name for selection in info.selected_fields[0].selections
    )


def _filter(info: Info, where: BountyFilter | None) -> search.BountyFilter:
    if where is None:
        return search.BountyFilter()
    near = where.near
    return search.BountyFilter(
        statuses=tuple(BountyStatusRow(status.value) for status in where.status or ()),
        category=where.category,
        min_reward=where.min_reward,
        max_reward=where.max_reward,
        currency=where.currency,
        text=where.text,
        near=search.Near(near.latitude, near.longitude, near.radius_km) if near else None,
        remote_only=where.remote_only,
        poster_id=node_uuid(where.poster_id, "User", field="filter.posterId")
        if where.poster_id
        else None,
    )


async def _page(
    info: Info,
    where: search.BountyFilter,
    sort: BountySort,
    first: int | None,
    after: str | None,
) -> Connection[Bounty]:
    try:
        page = await queries.list_bounties(
            info.context.reads,
            info.context.viewer,
            where=where,
            sort=search.BountySort(sort.value),
            first=first,
            after=after,
            count=_wants(info, "totalCount"),
        )
    except InvalidInput as error:
        raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
    return Connection.from_page(page, Bounty.from_card)


@strawberry.type(description="What changed on a bounty; read `bounty` for its state now.")
class BountyUpdate:
    bounty_id: relay.GlobalID
    status: BountyStatus | None = strawberry.field(
        description="The new status after a transition; null for edits and applications."
    )
    previous_status: BountyStatus | None
    applications: str | None = strawberry.field(
        description="submitted, withdrawn or rejected when an application changed."
    )
    at: datetime

    @strawberry.field(description="The bounty as it is now (read fresh, not from a cache).")
    async def bounty(self, info: Info) -> Bounty | None:
        [card] = await cards.cards_by_id(info.context.reads, [uuid.UUID(self.bounty_id.node_id)])
        if card is None or not card.visible_to(info.context.viewer):
            return None
        return Bounty.from_card(card)


@strawberry.type
class BountyQueries:
    @strawberry.field(description="A bounty by id; null if unknown or someone else's draft.")
    async def bounty(self, info: Info, id: relay.GlobalID) -> Bounty | None:
        if id.type_name != "Bounty":
            return None
        try:
            return await load_bounty(info, uuid.UUID(id.node_id))
        except ValueError:
            return None

    @strawberry.field(description="Bounties under a filter and sort; OPEN ones by default.")
    async def bounties(
        self,
        info: Info,
        filter: BountyFilter | None = None,
        sort: BountySort = BountySort.NEWEST,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Bounty]:
        return await _page(info, _filter(info, filter), sort, first, after)

    @strawberry.field(
        description="Your own bounties in every status (drafts included), newest first.",
        permission_classes=[IsAuthenticated],
    )
    async def my_bounties(
        self,
        info: Info,
        status: list[BountyStatus] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Bounty]:
        viewer = require_viewer(info)
        statuses = [BountyStatusRow(s.value) for s in status] if status else list(BountyStatusRow)
        where = search.BountyFilter(statuses=tuple(statuses), poster_id=viewer.user_id)
        return await _page(info, where, BountySort.NEWEST, first, after)

    @strawberry.field(
        description="Your applications, newest first.", permission_classes=[IsAuthenticated]
    )
    async def my_applications(
        self,
        info: Info,
        status: ApplicationStatus | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[BountyApplication]:
        return await connection(
            info,
            queries.my_applications,
            BountyApplication.from_card,
            status=ApplicationStatusRow(status.value) if status else None,
            first=first,
            after=after,
        )

    @strawberry.field(description="Categories a bounty may take (slugs).")
    async def bounty_categories(self, info: Info) -> list[str]:
        return await queries.categories(info.context.session_factory)


@strawberry.type
class BountySubscriptions:
    @strawberry.subscription(
        description="Changes to one bounty: transitions, edits, images and applications."
    )
    async def bounty_updated(
        self, info: Info, id: relay.GlobalID
    ) -> AsyncGenerator[BountyUpdate, None]:
        bounty_id = node_uuid(id, "Bounty", field="id")
        viewer = info.context.viewer
        # A short read, closed before waiting: a subscription never holds a session open.
        [card] = await cards.cards_by_id(info.context.reads, [bounty_id])
        if card is None or not card.visible_to(viewer):
            raise ApiError("no such bounty", BAD_USER_INPUT, field="id")
        poster_id = card.poster_id

        def allowed(event: Event, who: Viewer | None) -> bool:
            status = event.get("status")
            private = status in {s.value for s in lifecycle.PRIVATE_STATUSES}
            return not private or (who is not None and who.owns(poster_id))

        live = Live(
            field="bountyUpdated",
            topic=lifecycle.topic(bounty_id),
            access=bounty_access(viewer, poster_id),
            to_root=lambda event: _update(id, event),
            allowed=allowed,
            denied="this bounty is no longer visible to you",
        )
        return await subscription(info, live)


def bounty_access(viewer: Viewer | None, poster_id: uuid.UUID) -> str:
    """Who sees what of a bounty beyond its public fields: its poster, staff, anyone else."""
    if viewer is None:
        return "anonymous"
    if viewer.owns(poster_id):
        return "poster"
    return f"staff:{viewer.role.value}" if viewer.is_staff else "user"


def _update(id: relay.GlobalID, event: Event) -> BountyUpdate:
    return BountyUpdate(
        bounty_id=id,
        status=_status(event.get("status")),
        previous_status=_status(event.get("previousStatus")),
        applications=event.get("applications"),
        at=datetime.fromisoformat(event["at"]),
    )


def _status(value: object) -> BountyStatus | None:
    return BountyStatus(value) if isinstance(value, str) else None
