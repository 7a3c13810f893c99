"""Per-request DataLoaders. Build them per request: a DataLoader binds the running event loop."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiodataloader import DataLoader

from app.db.engine import SessionFactory
from app.db.models import SystemSettingVersion, User
from services import system_settings, users
from services.bounties import cards, queries, reviews
from services.pagination import Page


@dataclass(frozen=True, slots=True)
class Loaders:
    user_by_id: DataLoader[uuid.UUID, User | None]
    # Bounties come with poster, application count and images (one statement per batch);
    # visibility: `BountyCard.visible_to(viewer)`.
    bounty_by_id: DataLoader[uuid.UUID, cards.BountyCard | None]
    applications_by_bounty: DataLoader[uuid.UUID, list[queries.ApplicationCard]]
    # Keyed by (bounty id, page size, after cursor): `Bounty.applicationsConnection`.
    application_page_by_bounty: DataLoader[
        queries.ApplicationPageKey, Page[queries.ApplicationCard]
    ]
    history_by_bounty: DataLoader[uuid.UUID, list[queries.HistoryEntry]]
    reviews_by_user: DataLoader[uuid.UUID, list[reviews.ReviewCard]]
    setting_versions_by_key: DataLoader[str, list[SystemSettingVersion]]


Batch = Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]


def loader_batches(session_factory: SessionFactory) -> dict[str, Batch]:
    """Each loader's batch function, by `Loaders` field name.

    They need only the session factory, so an app builds them once (and monitoring wraps them
    once); a request then only creates its DataLoaders around them.
    """
    return {
        "user_by_id": partial(users.users_by_id, session_factory),
        "bounty_by_id": partial(cards.cards_by_id, session_factory),
        "applications_by_bounty": partial(queries.applications_by_bounty, session_factory),
        "application_page_by_bounty": partial(queries.application_pages, session_factory),
        "history_by_bounty": partial(queries.history_by_bounty, session_factory),
        "reviews_by_user": partial(reviews.reviews_by_subject, session_factory),
        "setting_versions_by_key": partial(system_settings.versions, session_factory),
    }


def create_loaders(batches: Mapping[str, Batch]) -> Loaders:
    """One request's loaders: each caches and batches for that request only."""
    return Loaders(**{name: DataLoader(batch) for name, batch in batches.items()})
