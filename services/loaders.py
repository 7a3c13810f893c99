"""Per-request DataLoaders. Build them per request: a DataLoader binds the running event loop."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aiodataloader import DataLoader

from app.db.engine import SessionFactory
from app.db.models import User
from services import users
from services.bounties import cards, queries, reviews


@dataclass(frozen=True, slots=True)
class Loaders:
    user_by_id: DataLoader[uuid.UUID, User | None]
    # Bounties come with poster, application count and images (one statement per batch);
    # visibility: `BountyCard.visible_to(viewer)`.
    bounty_by_id: DataLoader[uuid.UUID, cards.BountyCard | None]
    applications_by_bounty: DataLoader[uuid.UUID, list[queries.ApplicationCard]]
    history_by_bounty: DataLoader[uuid.UUID, list[queries.HistoryEntry]]
    reviews_by_user: DataLoader[uuid.UUID, list[reviews.ReviewCard]]


def create_loaders(session_factory: SessionFactory) -> Loaders:
    async def load_users(ids: list[uuid.UUID]) -> list[User | None]:
        return await users.users_by_id(session_factory, ids)

    async def load_bounties(ids: list[uuid.UUID]) -> list[cards.BountyCard | None]:
        return await cards.cards_by_id(session_factory, ids)

    async def load_applications(ids: list[uuid.UUID]) -> list[list[queries.ApplicationCard]]:
        return await queries.applications_by_bounty(session_factory, ids)

    async def load_history(ids: list[uuid.UUID]) -> list[list[queries.HistoryEntry]]:
        return await queries.history_by_bounty(session_factory, ids)

    async def load_reviews(ids: list[uuid.UUID]) -> list[list[reviews.ReviewCard]]:
        return await reviews.reviews_by_subject(session_factory, ids)

    return Loaders(
        user_by_id=DataLoader(load_users),
        bounty_by_id=DataLoader(load_bounties),
        applications_by_bounty=DataLoader(load_applications),
        history_by_bounty=DataLoader(load_history),
        reviews_by_user=DataLoader(load_reviews),
    )
