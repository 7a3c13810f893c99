"""Analytics types: the app's events in, metric series and the funnel out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

from app.db.models import AnalyticsEvent as EventRow
from app.db.models import EventSource, Granularity
from schema.errors import InvalidInputError
from services.analytics import metrics
from services.analytics.metrics import Metric

strawberry.enum(EventSource, description="CLIENT: sent by the app; SERVER: a domain action.")
strawberry.enum(Granularity, name="AnalyticsGranularity", description="Rollup bucket size.")
strawberry.enum(Metric, name="AnalyticsMetric", description="What `analyticsMetrics` measures.")


@strawberry.input(description="One event from the app.")
class TrackEventInput:
    name: str = strawberry.field(
        description='Lower case, dotted, at most 64 characters ("screen.viewed"); user.* and '
        "bounty.* are reserved for server-side events."
    )
    properties: JSON | None = strawberry.field(
        default=None, description="An object of at most 50 keys and 4 KB as JSON."
    )
    client_timestamp: datetime | None = strawberry.field(
        default=None, description="When it happened on the device (within the last 7 days)."
    )


def _event_from_input(
    cls: type[TrackEventInput], value: Mapping[str, Any], context: Any
) -> TrackEventInput:
    """A `TrackEventInput` straight from graphql-core's coerced value, whose fields already
    have their Python types (the JSON scalar's object, the DateTime's datetime): strawberry's
    own per-field conversion cost about 25 µs an event, most of a 50-event batch's CPU."""
    return cls(
        name=value["name"],
        properties=value.get("properties"),
        client_timestamp=value.get("clientTimestamp"),
    )


get_object_definition(TrackEventInput, strict=True).from_input = _event_from_input


@strawberry.type(description="The events were stored (or, with ingest switched off, dropped).")
class TrackEventsSuccess:
    accepted: int


TrackEventsResult = Annotated[
    TrackEventsSuccess | InvalidInputError, strawberry.union("TrackEventsResult")
]


@strawberry.type(description="One stored analytics event.")
class AnalyticsEvent:
    id: strawberry.ID
    name: str
    source: EventSource
    user_id: strawberry.ID | None
    properties: JSON
    client_timestamp: datetime | None
    received_at: datetime

    @classmethod
    def from_row(cls, row: EventRow) -> Self:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            source=row.source,
            user_id=strawberry.ID(relay.to_base64("User", str(row.user_id)))
            if row.user_id is not None
            else None,
            properties=cast(JSON, row.properties),
            client_timestamp=row.client_at,
            received_at=row.received_at,
        )


@strawberry.input(description="Events matching every field given.")
class AnalyticsEventFilter:
    names: list[str] | None = None
    user_id: relay.GlobalID | None = None
    source: EventSource | None = None
    since: datetime | None = None
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.type(description="A metric's value over one bucket.")
class AnalyticsPoint:
    start: datetime
    dimension: str = strawberry.field(description="The currency for GMV; empty otherwise.")
    value: int | None = strawberry.field(
        description="Counts are 0 in an empty bucket; medians are null there."
    )


@strawberry.type(description="A metric over a range, one point per bucket (from the rollups).")
class AnalyticsSeries:
    metric: Metric
    granularity: Granularity
    points: list[AnalyticsPoint]

    @classmethod
    def from_series(cls, series: metrics.Series) -> Self:
        return cls(
            metric=series.metric,
            granularity=series.granularity,
            points=[
                AnalyticsPoint(start=p.start, dimension=p.dimension, value=p.value)
                for p in series.points
            ],
        )


@strawberry.type(description="Bounties through the funnel over a range, and the step rates.")
class AnalyticsFunnel:
    created: int
    funded: int
    accepted: int
    completed: int

    @strawberry.field(description="funded / created; null when nothing was created.")
    def funded_rate(self) -> float | None:
        return round(self.funded / self.created, 4) if self.created else None

    @strawberry.field(description="accepted / funded.")
    def accepted_rate(self) -> float | None:
        return round(self.accepted / self.funded, 4) if self.funded else None

    @strawberry.field(description="completed / accepted.")
    def completed_rate(self) -> float | None:
        return round(self.completed / self.accepted, 4) if self.accepted else None
