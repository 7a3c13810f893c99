"""Finding users as an admin: search, role, status and risk level, newest first, keyset pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, tuple_

from app.db.engine import SessionFactory
from app.db.models import RiskAssessment, RiskLevel, Role, User, UserStatus
from services.bounties.cards import PERSON_COLUMNS, PersonCard, person_of, u
from services.errors import InvalidInput, NotAllowed
from services.pagination import Counted, Page, decode_cursor, encode_cursor, page_size, read_page
from services.viewer import Viewer

r = RiskAssessment.__table__.c  # type: ignore[attr-defined]
users_table = User.__table__  # type: ignore[attr-defined]
risk_table = RiskAssessment.__table__  # type: ignore[attr-defined]
MAX_SEARCH = 100


@dataclass(frozen=True, slots=True)
class UserFilter:
    search: str | None = None
    role: Role | None = None
    status: UserStatus | None = None
    risk_level: RiskLevel | None = None


@dataclass(slots=True)
class AdminUserCard:
    person: PersonCard
    risk_score: int | None
    risk_level: RiskLevel | None
    assessed_at: datetime | None


def require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise NotAllowed("admins only")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(where: UserFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.search is not None:
        text = where.search.strip()
        if not 1 <= len(text) <= MAX_SEARCH:
            raise InvalidInput(f"search takes 1 to {MAX_SEARCH} characters", field="search")
        pattern = _like(text)
        found.append(or_(u.email.ilike(pattern), u.display_name.ilike(pattern)))
    if where.role is not None:
        found.append(u.role == where.role)
    if where.status is not None:
        found.append(u.status == where.status)
    if where.risk_level is not None:
        found.append(r.level == where.risk_level)
    return found


def _keyset(after: str) -> ColumnElement[bool]:
    try:
        created, last = decode_cursor(after)
        key = (datetime.fromisoformat(created), uuid.UUID(last))
    except (TypeError, ValueError) as error:
        raise InvalidInput("not a cursor this API issued", field="after") from error
    return and_(tuple_(u.created_at, u.id) < key)


def card_of(row: Any) -> AdminUserCard:
    count = len(PERSON_COLUMNS)
    return AdminUserCard(person_of(row), row[count], row[count + 1], row[count + 2])


async def admin_users(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    where: UserFilter,
    first: int | None,
    after: str | None,
    count: bool = False,
) -> Page[AdminUserCard]:
    """Users matching `where`, newest first, with their latest risk assessment (and with
    `count`, how many match in all, cursor or not): one statement."""
    require_admin(viewer)
    size = page_size(first)
    conditions = _conditions(where)
    joined = users_table.outerjoin(risk_table, r.user_id == u.id)
    query = (
        select(*PERSON_COLUMNS, r.score, r.level, r.assessed_at)
        .select_from(joined)
        .where(*conditions)
        .order_by(u.created_at.desc(), u.id.desc())
        .limit(size + 1)
    )
    if after is not None:
        query = query.where(_keyset(after))
    total = Counted(joined, conditions) if count else None
    rows, found = await read_page(session_factory, query, total=total, after=after)
    return Page.from_rows(
        [card_of(row) for row in rows],
        size,
        lambda card: encode_cursor([card.person.created_at.isoformat(), str(card.person.id)]),
        after=after,
        total=found,
    )


async def admin_user(
    session_factory: SessionFactory, viewer: Viewer, *, user_id: uuid.UUID
) -> AdminUserCard | None:
    """One user (deleted ones too: their history stays) with the latest risk assessment."""
    require_admin(viewer)
    query = (
        select(*PERSON_COLUMNS, r.score, r.level, r.assessed_at)
        .select_from(users_table.outerjoin(risk_table, r.user_id == u.id))
        .where(u.id == user_id)
    )
    async with session_factory() as session:
        row = (await session.execute(query)).first()
    return card_of(row) if row is not None else None
