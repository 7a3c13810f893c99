"""Lists: bounties (filters, sorts, keyset pages, counts on request), mine, applications, history.

Each list is one statement for its rows (and one more for `totalCount` when asked), whatever the
page size. Batch functions here back the per-request loaders.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    Application,
    ApplicationStatus,
    BountyCategory,
    BountyHistory,
    BountyStatus,
    User,
    UserStatus,
)
from services.bounties.cards import (
    BountyCard,
    a,
    b,
    bounties_table,
    card_of,
    card_query,
    u,
    users_table,
)
from services.bounties.search import (
    BountyFilter,
    BountySort,
    conditions,
    cursor_value,
    keyset,
    sort_key,
)
from services.errors import InvalidInput
from services.pagination import Counted, Page, decode_cursor, encode_cursor, page_size, read_page
from services.viewer import Viewer

UNFILTERED = BountyFilter()


def _page_query(
    viewer: Viewer | None,
    where: BountyFilter,
    sort: BountySort,
    size: int,
    after: str | None,
    found: list[Any],
) -> Select[Any]:
    expression, descending = sort_key(sort, where)
    query = card_query(expression.label("sort_key")).where(*found)
    if after is not None:
        query = query.where(keyset(expression, descending, decode_cursor(after), sort))
    order = (expression.desc(), b.id.desc()) if descending else (expression.asc(), b.id.asc())
    # app/db/engine.py sets plan_cache_mode=force_custom_plan: a generic plan sorts every row.
    return query.order_by(*order).limit(size + 1)


@functools.lru_cache(maxsize=512)
def _first_page(sort: BountySort, size: int) -> Select[Any]:
    return _page_query(None, UNFILTERED, sort, size, None, conditions(None, UNFILTERED))


async def list_bounties(
    session_factory: SessionFactory,
    viewer: Viewer | None,
    *,
    where: BountyFilter,
    sort: BountySort = BountySort.NEWEST,
    first: int | None = None,
    after: str | None = None,
    count: bool = False,
) -> Page[BountyCard]:
    size = page_size(first)
    found = conditions(viewer, where)
    if where == UNFILTERED and after is None and sort is not BountySort.DISTANCE:
        query = _first_page(sort, size)  # the hottest shape: built once, not per request
    else:
        query = _page_query(viewer, where, sort, size, after, found)
    async with session_factory() as session:
        cards = [card_of(row) for row in await session.execute(query)]
        total = None
        if count:
            total = await session.scalar(
                select(func.count())
                .select_from(bounties_table.join(users_table, u.id == b.poster_id))
                .where(u.status != "DELETED", *found)
            )
    return Page.from_rows(
        cards,
        size,
        lambda card: encode_cursor([cursor_value(card.sort_key), str(card.id)]),
        after=after,
        total=total,
    )


@dataclass(slots=True)
class ApplicationCard:
    id: uuid.UUID
    bounty_id: uuid.UUID
    hunter_id: uuid.UUID
    message: str
    proposed_amount: int | None
    status: ApplicationStatus
    created_at: datetime
    updated_at: datetime
    currency: str  # the bounty's: a proposed amount is in it
    # Joined into the same statement (null once the account is deleted): an application's
    # `hunter` costs no loader round of its own.
    hunter: User | None


_hunter = aliased(User, name="hunter")
APPLICATION_COLUMNS = (
    a.id, a.bounty_id, a.hunter_id, a.message, a.proposed_amount, a.status, a.created_at,
    a.updated_at, b.reward_currency,
)  # fmt: skip


def application_query() -> Select[Any]:
    """Applications with their bounty's currency and their hunter, in one statement."""
    hunter_visible = and_(_hunter.id == a.hunter_id, col(_hunter.status) != UserStatus.DELETED)
    return (
        select(*APPLICATION_COLUMNS, _hunter)
        .select_from(Application.__table__.join(bounties_table, b.id == a.bounty_id))  # type: ignore[attr-defined]
        .outerjoin(_hunter, hunter_visible)
    )


_APPLICATIONS_BY_BOUNTY = (
    application_query()
    .where(a.bounty_id.in_(bindparam("ids", expanding=True)))
    .order_by(a.created_at, a.id)
)


async def applications_by_bounty(
    session_factory: SessionFactory, bounty_ids: Sequence[uuid.UUID]
) -> list[list[ApplicationCard]]:
    """Batch for the loader; shown to the poster and staff only (`may_see_applications`)."""
    async with session_factory() as session:
        rows = await session.execute(_APPLICATIONS_BY_BOUNTY, {"ids": list(bounty_ids)})
        grouped: dict[uuid.UUID, list[ApplicationCard]] = defaultdict(list)
        for row in rows:
            grouped[row[1]].append(ApplicationCard(*row))
    return [grouped.get(bounty_id, []) for bounty_id in bounty_ids]


ApplicationPageKey = tuple[uuid.UUID, int, str | None]  # (bounty id, page size, after)


async def application_pages(
    session_factory: SessionFactory, keys: Sequence[ApplicationPageKey]
) -> list[Page[ApplicationCard]]:
    """Batch for the `application_page_by_bounty` loader: a page of each bounty's applications
    (oldest first, keyset cursors), one statement per distinct (size, after) among the keys,
    so a list of bounties asking for the same page costs one statement."""
    groups: dict[tuple[int, str | None], list[uuid.UUID]] = defaultdict(list)
    for bounty_id, size, after in keys:
        groups[size, after].append(bounty_id)
    found: dict[ApplicationPageKey, Page[ApplicationCard]] = {}
    async with session_factory() as session:
        for (size, after), bounty_ids in groups.items():
            rows = await session.execute(_application_pages_query(bounty_ids, size, after))
            grouped: dict[uuid.UUID, list[ApplicationCard]] = defaultdict(list)
            for row in rows:
                grouped[row[1]].append(ApplicationCard(*row))
            for bounty_id in bounty_ids:
                found[bounty_id, size, after] = Page.from_rows(
                    grouped.get(bounty_id, []),
                    size,
                    _application_cursor,
                    after=after,
                    total=None,
                )
    return [found[key] for key in keys]


def _application_cursor(card: ApplicationCard) -> str:
    return encode_cursor([card.created_at.isoformat(), str(card.id)])


def _application_pages_query(
    bounty_ids: list[uuid.UUID], size: int, after: str | None
) -> Select[Any]:
    ranked_rows = select(
        a.id.label("id"),
        func.row_number()
        .over(partition_by=a.bounty_id, order_by=(a.created_at, a.id))
        .label("position"),
    ).where(a.bounty_id.in_(bounty_ids))
    if after is not None:
        created, last = decode_cursor(after)
        try:
            ranked_rows = ranked_rows.where(
                tuple_(a.created_at, a.id) > (datetime.fromisoformat(created), uuid.UUID(last))
            )
        except (TypeError, ValueError) as error:
            raise InvalidInput("not a cursor this API issued", field="after") from error
    ranked = ranked_rows.subquery("ranked")
    return (
        application_query()
        .join(ranked, ranked.c.id == a.id)
        .where(ranked.c.position <= size + 1)
        .order_by(a.bounty_id, a.created_at, a.id)
    )


def may_see_applications(viewer: Viewer | None, card: BountyCard) -> bool:
    return viewer is not None and (viewer.owns(card.poster_id) or viewer.is_staff)


def may_see_history(viewer: Viewer | None, card: BountyCard) -> bool:
    return viewer is not None and (
        viewer.owns(card.poster_id)
        or (card.hunter_id is not None and viewer.owns(card.hunter_id))
        or viewer.is_staff
    )


async def my_applications(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    status: ApplicationStatus | None,
    first: int | None,
    after: str | None,
    count: bool = False,
) -> Page[ApplicationCard]:
    """Yours, newest first (with `count`, how many under the filter): one statement."""
    size = page_size(first)
    conditions = [a.hunter_id == viewer.user_id]
    if status is not None:
        conditions.append(a.status == status)
    query = application_query().where(*conditions)
    if after is not None:
        created, last = decode_cursor(after)
        try:
            query = query.where(
                tuple_(a.created_at, a.id) < (datetime.fromisoformat(created), uuid.UUID(last))
            )
        except (TypeError, ValueError) as error:
            raise InvalidInput("not a cursor this API issued", field="after") from error
    query = query.order_by(a.created_at.desc(), a.id.desc()).limit(size + 1)
    total = Counted(Application.__table__, conditions) if count else None  # type: ignore[attr-defined]
    rows, found = await read_page(session_factory, query, total=total, after=after)
    width = len(APPLICATION_COLUMNS) + 1  # the columns and the hunter, then the total
    return Page.from_rows(
        [ApplicationCard(*row[:width]) for row in rows],
        size,
        lambda card: encode_cursor([card.created_at.isoformat(), str(card.id)]),
        after=after,
        total=found,
    )


@dataclass(slots=True)
class HistoryEntry:
    bounty_id: uuid.UUID
    actor_id: uuid.UUID | None
    from_status: BountyStatus | None
    to_status: BountyStatus
    note: str | None
    at: datetime


async def history_by_bounty(
    session_factory: SessionFactory, bounty_ids: Sequence[uuid.UUID]
) -> list[list[HistoryEntry]]:
    h = BountyHistory.__table__.c  # type: ignore[attr-defined]
    async with session_factory() as session:
        rows = await session.execute(
            select(h.bounty_id, h.actor_id, h.from_status, h.to_status, h.note, h.at)
            .where(h.bounty_id.in_(bounty_ids))
            .order_by(h.id)
        )
        grouped: dict[uuid.UUID, list[HistoryEntry]] = defaultdict(list)
        for row in rows:
            grouped[row[0]].append(
                HistoryEntry(
                    row[0],
                    row[1],
                    BountyStatus(row[2]) if row[2] else None,
                    BountyStatus(row[3]),
                    row[4],
                    row[5],
                )
            )
    return [grouped.get(bounty_id, []) for bounty_id in bounty_ids]


async def categories(session_factory: SessionFactory) -> list[str]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(BountyCategory.slug)  # type: ignore[call-overload]
            .where(BountyCategory.active)
            .order_by(BountyCategory.slug)
        )
        return list(rows)


_APPLICATION_BY_ID = application_query().where(a.id == bindparam("application_id"))


async def application_by_id(
    session_factory: SessionFactory, application_id: uuid.UUID
) -> ApplicationCard:
    async with session_factory() as session:
        found = await session.execute(_APPLICATION_BY_ID, {"application_id": application_id})
        row = found.one()
    return ApplicationCard(*row)
