"""Analytics events: the app's batches (validated, append-only) and server-side domain events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory
from app.db.models import AnalyticsEvent, EventSource
from app.db.models.base import utcnow
from services.errors import InvalidInput, NotAllowed
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.viewer import Viewer

e = AnalyticsEvent.__table__.c  # type: ignore[attr-defined]
MAX_BATCH = 100
MAX_PROPERTIES_BYTES = 4096
MAX_PROPERTIES = 50
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_NAME = 64
RESERVED = ("user.", "bounty.")
# Client clocks drift; further off than this, the event is refused rather than misfiled.
PAST_LIMIT = timedelta(days=7)
FUTURE_LIMIT = timedelta(hours=1)
BAD_NAME = 'a name is lower case, dotted, at most 64 characters ("screen.viewed")'
TOO_MANY_KEYS = f"properties are an object of at most {MAX_PROPERTIES} keys"
TOO_LARGE = f"properties take at most {MAX_PROPERTIES_BYTES} bytes as JSON"
OUT_OF_RANGE = "clientTimestamp is more than 7 days old or in the future"

# Server-side events, recorded by domain actions (the rollups count these).
SIGNED_UP = "user.signed_up"
BOUNTY_CREATED = "bounty.created"


def bounty_event(status: str) -> str:
    """The server-side event of a bounty entering `status` ("bounty.open", "bounty.completed")."""
    return f"bounty.{status.lower()}"


class TrackedEvent(NamedTuple):
    """One of the app's events as sent: `properties` an object (None: empty)."""

    name: str
    properties: Any
    client_at: datetime | None


def _refused(index: int, field: str, message: str) -> InvalidInput:
    return InvalidInput(message, field=f"events[{index}].{field}")


def _columns(
    events: Sequence[TrackedEvent], now: datetime
) -> tuple[list[str], list[str], list[datetime | None]]:
    """Validate the batch in one pass (the first bad event refuses it all) and return the
    INSERT's arrays: names, properties as JSON text, client timestamps."""
    names: list[str] = []
    documents: list[str] = []
    times: list[datetime | None] = []
    earliest, latest = now - PAST_LIMIT, now + FUTURE_LIMIT
    valid_name = NAME.match
    for index, (name, properties, client_at) in enumerate(events):
        if len(name) > MAX_NAME or valid_name(name) is None:
            raise _refused(index, "name", BAD_NAME)
        if name.startswith(RESERVED):
            raise _refused(index, "name", "user.* and bounty.* are server-side events")
        if properties is None:
            document = "{}"
        elif not isinstance(properties, dict) or len(properties) > MAX_PROPERTIES:
            raise _refused(index, "properties", TOO_MANY_KEYS)
        else:
            encoded = orjson.dumps(properties)
            if len(encoded) > MAX_PROPERTIES_BYTES:
                raise _refused(index, "properties", TOO_LARGE)
            document = encoded.decode()
        if client_at is not None:
            if client_at.tzinfo is None:
                client_at = client_at.replace(tzinfo=UTC)
            if not earliest <= client_at <= latest:
                raise _refused(index, "clientTimestamp", OUT_OF_RANGE)
        names.append(name)
        documents.append(document)
        times.append(client_at)
    return names, documents, times


async def track_events(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    events: Sequence[TrackedEvent],
    enabled: bool = True,
) -> int:
    """Store a batch (1 to 100) in one INSERT; a bad event refuses the whole batch.

    The one statement is atomic by itself, so it runs on an autocommit session where the caller
    gives one (no BEGIN and COMMIT round trips; the commit below is then a no-op) and commits
    its own transaction otherwise. `enabled` False (the `analytics.ingest_enabled` setting):
    validated, counted, not stored."""
    if not 1 <= len(events) <= MAX_BATCH:
        raise InvalidInput(f"send 1 to {MAX_BATCH} events a call", field="events")
    now = utcnow()
    names, documents, times = _columns(events, now)
    if enabled:
        async with session_factory() as session:
            # Arrays unnested server side: one statement, no per-row binds or ORM objects.
            await session.execute(
                _INSERT_BATCH,
                {
                    "names": names,
                    "properties": documents,
                    "client_at": times,
                    "user_id": viewer.user_id,
                    "received_at": now,
                },
            )
            await session.commit()
    return len(names)


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
