"""Analytics events: the app's batches (validated, append-only) and server-side domain events."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory
from app.db.models import AnalyticsEvent, EventSource
from app.db.models.base import utcnow
from services.errors import InvalidInput, NotAllowed
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

e = AnalyticsEvent.__table__.c  # type: ignore[attr-defined]
MAX_BATCH = 100
MAX_PROPERTIES_BYTES = 4096
MAX_PROPERTIES = 50
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_NAME = 64
# Client clocks drift; further off than this, the event is refused rather than misfiled.
PAST_LIMIT = timedelta(days=7)
FUTURE_LIMIT = timedelta(hours=1)

# Server-side events, recorded by domain actions (the rollups count these).
SIGNED_UP = "user.signed_up"
BOUNTY_CREATED = "bounty.created"


def bounty_event(status: str) -> str:
    """The server-side event of a bounty entering `status` ("bounty.open", "bounty.completed")."""
    return f"bounty.{status.lower()}"


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    name: str
    properties: dict[str, Any]
    client_at: datetime | None


def _check(index: int, event: TrackedEvent, now: datetime) -> dict[str, Any]:
    field = f"events[{index}]"
    if not (len(event.name) <= MAX_NAME and NAME.match(event.name)):
        raise InvalidInput(
            'a name is lower case, dotted, at most 64 characters ("screen.viewed")',
            field=f"{field}.name",
        )
    if event.name.startswith(("user.", "bounty.")):
        raise InvalidInput("user.* and bounty.* are server-side events", field=f"{field}.name")
    if not isinstance(event.properties, dict) or len(event.properties) > MAX_PROPERTIES:
        raise InvalidInput(
            f"properties are an object of at most {MAX_PROPERTIES} keys",
            field=f"{field}.properties",
        )
    if len(orjson.dumps(event.properties)) > MAX_PROPERTIES_BYTES:
        raise InvalidInput(
            f"properties take at most {MAX_PROPERTIES_BYTES} bytes as JSON",
            field=f"{field}.properties",
        )
    if event.client_at is not None and not (
        now - PAST_LIMIT <= event.client_at <= now + FUTURE_LIMIT
    ):
        raise InvalidInput(
            "clientTimestamp is more than 7 days old or in the future",
            field=f"{field}.clientTimestamp",
        )
    return {
        "name": event.name,
        "source": EventSource.CLIENT,
        "properties": event.properties,
        "client_at": event.client_at,
    }


async def track_events(
    work: UnitOfWork, viewer: Viewer, *, events: list[TrackedEvent], enabled: bool = True
) -> int:
    """Store a batch (1 to 100) in one statement; a bad event refuses the whole batch.

    `enabled` False (the `analytics.ingest_enabled` setting): validated, counted, not stored."""
    if not 1 <= len(events) <= MAX_BATCH:
        raise InvalidInput(f"send 1 to {MAX_BATCH} events a call", field="events")
    now = utcnow()
    rows = [
        {**_check(index, event, now), "user_id": viewer.user_id, "received_at": now}
        for index, event in enumerate(events)
    ]
    if enabled:
        # One statement whatever the batch: arrays unnested server side (no per-row binds).
        await work.session.execute(
            _INSERT_BATCH,
            {
                "names": [row["name"] for row in rows],
                "properties": [orjson.dumps(row["properties"]).decode() for row in rows],
                "client_at": [row["client_at"] for row in rows],
                "user_id": viewer.user_id,
                "received_at": now,
            },
        )
    return len(rows)


_INSERT_BATCH = text("""
INSERT INTO analytics_events (name, source, user_id, properties, client_at, received_at)
SELECT event.name, 'CLIENT', CAST(:user_id AS uuid), CAST(event.properties AS jsonb),
       event.client_at, CAST(:received_at AS timestamptz)
FROM unnest(CAST(:names AS varchar[]), CAST(:properties AS text[]),
            CAST(:client_at AS timestamptz[])) AS event (name, properties, client_at)
""")


def record(session: AsyncSession, name: str, user_id: uuid.UUID | None, **properties: Any) -> None:
    """A server-side event in the caller's transaction: it exists exactly when the action does."""
    session.add(
        AnalyticsEvent(name=name, source=EventSource.SERVER, user_id=user_id, properties=properties)
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    names: tuple[str, ...] = ()
    user_id: uuid.UUID | None = None
    source: EventSource | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(where: EventFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.names:
        if len(where.names) > 20:
            raise InvalidInput("filter by at most 20 names", field="filter.names")
        found.append(e.name.in_(where.names))
    if where.user_id is not None:
        found.append(e.user_id == where.user_id)
    if where.source is not None:
        found.append(e.source == where.source)
    if where.since is not None:
        found.append(e.received_at >= where.since)
    if where.until is not None:
        found.append(e.received_at < where.until)
    return found


async def analytics_events(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    where: EventFilter,
    first: int | None,
    after: str | None,
) -> Page[AnalyticsEvent]:
    """Admins: events matching `where`, newest first: one statement a page."""
    if not viewer.is_admin:
        raise NotAllowed("admins only")
    size = page_size(first)
    query = select(AnalyticsEvent).where(*_conditions(where)).order_by(e.id.desc()).limit(size + 1)
    if after is not None:
        key = decode_cursor(after)
        if len(key) != 1 or not isinstance(key[0], int):
            raise InvalidInput("not a cursor this API issued", field="after")
        query = query.where(e.id < key[0])
    async with session_factory() as session:
        rows = list(await session.scalars(query))
    return Page.from_rows(rows, size, lambda row: encode_cursor([row.id]), after=after, total=None)
