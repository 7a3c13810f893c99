"""The audit log as admins read it: filtered by action, actor, target and time, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select

from app.db.engine import SessionFactory
from app.db.models import AuditEvent
from services.admin.users import require_admin
from services.errors import InvalidInput
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.viewer import Viewer

e = AuditEvent.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actions: tuple[str, ...] = ()  # exact names, or a prefix ending in "." ("auth.")
    actor_id: uuid.UUID | None = None
    target_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(where: AuditFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.actions:
        if len(where.actions) > 20 or any(not 1 <= len(a) <= 64 for a in where.actions):
            raise InvalidInput("give 1 to 20 actions of 1 to 64 characters", field="filter.actions")
        exact = [a for a in where.actions if not a.endswith(".")]
        prefixes = [a for a in where.actions if a.endswith(".")]
        found.append(
            or_(
                *([e.action.in_(exact)] if exact else []),
                *(e.action.startswith(prefix, autoescape=True) for prefix in prefixes),
            )
        )
    if where.actor_id is not None:
        found.append(e.actor_id == where.actor_id)
    if where.target_id is not None:
        found.append(e.target_id == where.target_id)
    if where.since is not None:
        found.append(e.at >= where.since)
    if where.until is not None:
        found.append(e.at < where.until)
    return found


async def audit_events(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    where: AuditFilter,
    first: int | None,
    after: str | None,
) -> Page[AuditEvent]:
    """Audit rows matching `where`, newest first (by id, which follows time): one statement."""
    require_admin(viewer)
    size = page_size(first)
    query = select(AuditEvent).where(*_conditions(where)).order_by(e.id.desc()).limit(size + 1)
    if after is not None:
        key = decode_cursor(after)
        if len(key) != 1 or not isinstance(key[0], int):
            raise InvalidInput("not a cursor this API issued", field="after")
        query = query.where(e.id < key[0])
    async with session_factory() as session:
        rows = list(await session.scalars(query))
    return Page.from_rows(rows, size, lambda row: encode_cursor([row.id]), after=after, total=None)
