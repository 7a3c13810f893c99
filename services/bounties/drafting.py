"""Writing a bounty: create, update (poster only, while DRAFT or OPEN), images (at most 8).

Text is stored as the poster typed it (trimmed) and is never rendered as HTML anywhere; limits
keep it to what a card and a detail page show.
"""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Bounty, BountyCategory, BountyImage, BountyStatus
from app.db.models.base import utcnow
from services import idempotency
from services.avatars import clean_image
from services.bounties import lifecycle
from services.bounties.access import require_active, require_poster
from services.bounties.errors import InvalidTransition, TooManyImages
from services.errors import InvalidInput, NotFound
from services.media import MediaStorage
from services.risk import categories
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

TITLE = (3, 120)
DESCRIPTION = (1, 5000)
MAX_PLACE = 120
MAX_REWARD = 100_000_000  # minor units: a million in a two-decimal currency
CURRENCIES = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "JPY"})
MAX_IMAGES = 8
EDITABLE = (BountyStatus.DRAFT, BountyStatus.OPEN)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Where a column's value came from in the GraphQL input, for `UserError.field`.
_PATHS = {"reward_amount": "input.reward.amount", "reward_currency": "input.reward.currency"}


@dataclass(frozen=True)
class BountyChanges:
    """Field values a client sent (None clears an optional one); absent fields stay."""

    values: dict[str, Any] = field(default_factory=dict)


def _text(value: object, limits: tuple[int, int], path: str, *, single_line: bool) -> str:
    text = " ".join(str(value).split()) if single_line else str(value).strip()
    if not limits[0] <= len(text) <= limits[1]:
        raise InvalidInput(f"use {limits[0]} to {limits[1]} characters", field=path)
    return text


def clean(values: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        path = _PATHS.get(name, f"input.{name}")
        if name == "title":
            cleaned[name] = _text(value, TITLE, path, single_line=True)
        elif name == "description":
            cleaned[name] = _text(value, DESCRIPTION, path, single_line=False)
        elif name == "category":
            cleaned[name] = str(value)
        elif name == "reward_amount":
            if not isinstance(value, int) or not 0 < value <= MAX_REWARD:
                raise InvalidInput(f"a reward is 1 to {MAX_REWARD} minor units", field=path)
            cleaned[name] = value
        elif name == "reward_currency":
            if not _CURRENCY.match(str(value)) or value not in CURRENCIES:
                raise InvalidInput(
                    f"{str(value)[:10]!r} is not a currency we support; use one of "
                    + ", ".join(sorted(CURRENCIES)),
                    field=path,
                )
            cleaned[name] = value
        elif name == "location":
            cleaned.update(_location(value, path))
        elif name == "remote":
            cleaned[name] = bool(value)
        elif name == "deadline":
            if value is not None and value <= now:
                raise InvalidInput("the deadline must be in the future", field=path)
            cleaned[name] = value
        else:
            raise InvalidInput(f"unknown bounty field {name}", field=path)
    return cleaned


def _location(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {"latitude": None, "longitude": None, "place_name": None}
    latitude, longitude, place = value
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput("latitude is -90..90 and longitude -180..180", field=path)
    place = " ".join(str(place).split()) if place else None
    if place is not None and len(place) > MAX_PLACE:
        raise InvalidInput(f"a place name takes at most {MAX_PLACE} characters", field=path)
    return {"latitude": latitude, "longitude": longitude, "place_name": place}


async def _check_category(session: AsyncSession, slug: str) -> None:
    found = await session.scalar(
        select(col(BountyCategory.slug)).where(
            col(BountyCategory.slug) == slug, col(BountyCategory.active)
        )
    )
    if found is None:
        known = await session.scalars(
            select(col(BountyCategory.slug))
            .where(col(BountyCategory.active))
            .order_by(col(BountyCategory.slug))
        )
        raise InvalidInput(
            f"no category {slug[:40]!r}; use one of " + ", ".join(known),
            field="input.category",
        )
    await categories.check_drafting(session, slug)


async def create_bounty(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    values: dict[str, Any],
    idempotency_key: str | None = None,
) -> uuid.UUID:
    """A new DRAFT of `viewer`'s; publish it to open it to hunters. A repeat under the same
    idempotency key is answered with the first one (services/idempotency.py)."""
    return await idempotency.once(
        work,
        user_id=viewer.user_id,
        key=idempotency_key,
        operation="createBounty",
        request=values,
        create=lambda: _create(work, viewer, values),
    )


async def _create(work: UnitOfWork, viewer: Viewer, values: dict[str, Any]) -> uuid.UUID:
    session = work.session
    await require_active(session, viewer)
    cleaned = clean(values, now=utcnow())
    missing = {"title", "description", "category", "reward_amount", "reward_currency"} - set(
        cleaned
    )
    if missing:
        raise InvalidInput(f"missing {', '.join(sorted(missing))}", field="input")
    await _check_category(session, cleaned["category"])
    bounty_id: uuid.UUID | None = await session.scalar(
        insert(Bounty).values(poster_id=viewer.user_id, **cleaned).returning(col(Bounty.id))
    )
    assert bounty_id is not None  # INSERT ... RETURNING always returns the row
    await lifecycle.record_creation(work, bounty_id, viewer.user_id)
    return bounty_id


async def update_bounty(
    work: UnitOfWork, viewer: Viewer, *, bounty_id: uuid.UUID, changes: BountyChanges
) -> None:
    if await _quick_edit(work, viewer, bounty_id, changes):
        return
    session = work.session
    state = await lifecycle.load_state(session, viewer, bounty_id)
    require_poster(viewer, state, "edit this bounty")
    cleaned = clean(changes.values, now=utcnow())
    if state.status is not BountyStatus.DRAFT and (
        {"reward_amount", "reward_currency"} & set(cleaned)
    ):
        raise InvalidInput("the reward is fixed once the bounty is funded", field="input.reward")
    if "category" in cleaned:
        await _check_category(session, cleaned["category"])
    if not cleaned:
        return
    names = tuple(sorted(cleaned))
    parameters = {f"the_{name}": cleaned[name] for name in names}
    changed = await session.scalar(_update_statement(names), {"the_id": bounty_id, **parameters})
    if changed is None:
        raise InvalidTransition(
            "only DRAFT and OPEN bounties can be edited",
            current=state.status.value,
            target=state.status.value,
        )
    _announce(work, state)


async def _quick_edit(
    work: UnitOfWork, viewer: Viewer, bounty_id: uuid.UUID, changes: BountyChanges
) -> bool:
    """The common edit (valid text, place, deadline; no reward or category) in one statement:
    the UPDATE itself checks that the viewer is the poster and the bounty still DRAFT or OPEN.
    False when it changed nothing or does not apply: `update_bounty`'s full path then runs from
    the start (reads the state, refuses in its order), as if this had not been tried."""
    if not changes.values or _NEEDS_STATE & changes.values.keys():
        return False
    try:
        cleaned = clean(changes.values, now=utcnow())
    except InvalidInput:
        return False  # the full path says so, after NOT_FOUND and NOT_ALLOWED
    names = tuple(sorted(cleaned))
    parameters = {f"the_{name}": cleaned[name] for name in names}
    changed = await work.session.scalar(
        _update_statement(names, by_poster=True),
        {"the_id": bounty_id, "the_poster": viewer.user_id, **parameters},
    )
    if changed is None:
        return False
    lifecycle.announce(work, bounty_id, edited=True)
    return True


# Edits whose rules depend on the bounty's state or another table: the full path only.
_NEEDS_STATE = frozenset({"reward_amount", "reward_currency", "category"})


@functools.lru_cache(maxsize=512)
def _update_statement(names: tuple[str, ...], *, by_poster: bool = False) -> Any:
    """The edit of these columns, built once per set of columns (no per-call building and
    cache-key hashing); bound names differ from the columns', which SET reserves."""
    guard = [col(Bounty.poster_id) == bindparam("the_poster")] if by_poster else []
    return (
        update(Bounty)
        .where(col(Bounty.id) == bindparam("the_id"), col(Bounty.status).in_(EDITABLE), *guard)
        .values({**{name: bindparam(f"the_{name}") for name in names}, "updated_at": func.now()})
        .returning(col(Bounty.id))
    )


def _announce(work: UnitOfWork, state: lifecycle.BountyState) -> None:
    lifecycle.announce(work, state.id, edited=True)


async def _editable(
    work: UnitOfWork, viewer: Viewer, bounty_id: uuid.UUID
) -> lifecycle.BountyState:
    # The row lock keeps two concurrent uploads from both taking the eighth place.
    state = await lifecycle.load_state(work.session, viewer, bounty_id)
    require_poster(viewer, state, "change its images")
    locked = await work.session.scalar(
        select(col(Bounty.status)).where(col(Bounty.id) == bounty_id).with_for_update()
    )
    if locked not in EDITABLE:
        raise InvalidTransition(
            "images change only while DRAFT or OPEN",
            current=str(locked),
            target=str(locked),
        )
    return state


async def add_image(
    work: UnitOfWork, viewer: Viewer, *, media: MediaStorage, bounty_id: uuid.UUID, data: bytes
) -> uuid.UUID:
    """Same checks as avatars: sniffed format, bounded size and sides, re-encoded."""
    image = await asyncio.to_thread(clean_image, data)
    state = await _editable(work, viewer, bounty_id)
    count = await work.session.scalar(
        select(func.count()).where(col(BountyImage.bounty_id) == bounty_id)
    )
    if (count or 0) >= MAX_IMAGES:
        raise TooManyImages(f"a bounty has at most {MAX_IMAGES} images", field="file")
    key = f"bounties/{bounty_id}/{uuid.uuid4().hex}.{image.extension}"
    position = await work.session.scalar(
        select(func.coalesce(func.max(BountyImage.position), -1) + 1).where(
            col(BountyImage.bounty_id) == bounty_id
        )
    )
    image_id: uuid.UUID | None = await work.session.scalar(
        insert(BountyImage)
        .values(
            bounty_id=bounty_id,
            key=key,
            position=position,
            width=image.width,
            height=image.height,
        )
        .returning(col(BountyImage.id))
    )
    assert image_id is not None
    await media.save(key, image.data)
    _announce(work, state)
    return image_id


async def remove_image(
    work: UnitOfWork, viewer: Viewer, *, media: MediaStorage, image_id: uuid.UUID
) -> uuid.UUID:
    """Remove one image; the bounty's id."""
    bounty_id: uuid.UUID | None = await work.session.scalar(
        select(col(BountyImage.bounty_id)).where(col(BountyImage.id) == image_id)
    )
    if bounty_id is None:
        raise NotFound("no such image", field="imageId")
    state = await _editable(work, viewer, bounty_id)
    key = await work.session.scalar(
        delete(BountyImage).where(col(BountyImage.id) == image_id).returning(col(BountyImage.key))
    )
    if key is not None:
        await media.delete(key)
    _announce(work, state)
    return bounty_id
