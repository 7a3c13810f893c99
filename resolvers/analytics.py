"""Analytics root fields: the app tracks events; admins read metrics, the funnel and events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from app.db.models import Granularity
from app.security.permissions import IsAdmin, IsAuthenticated
from app.security.rate_limits import limit_request
from resolvers.mutations import mutate, require_viewer, user_uuid
from schema.analytics import (
    AnalyticsEvent,
    AnalyticsEventFilter,
    AnalyticsFunnel,
    AnalyticsSeries,
    TrackEventInput,
    TrackEventsResult,
    TrackEventsSuccess,
)
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError, Result
from schema.pagination import Connection
from services import system_settings
from services.analytics import events as event_log
from services.analytics import metrics
from services.analytics.metrics import Metric
from services.errors import InvalidInput
from services.unit_of_work import UnitOfWork


def _bad_input(error: InvalidInput) -> ApiError:
    return ApiError(error.message, BAD_USER_INPUT, field=error.field)


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description="A metric per bucket over [from, to), from the rollups. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def analytics_metrics(
        self,
        info: Info,
        metric: Metric,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        granularity: Granularity = Granularity.DAY,
    ) -> AnalyticsSeries:
        try:
            series = await metrics.analytics_metrics(
                info.context.session_factory,
                require_viewer(info),
                metric=metric,
                since=from_,
                until=to,
                granularity=granularity,
            )
        except InvalidInput as error:
            raise _bad_input(error) from error
        return AnalyticsSeries.from_series(series)

    @strawberry.field(
        description="Bounties created -> funded -> accepted -> completed over [from, to), "
        "from the daily rollups. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def analytics_funnel(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> AnalyticsFunnel:
        try:
            found = await metrics.funnel(
                info.context.session_factory, require_viewer(info), since=from_, until=to
            )
        except InvalidInput as error:
            raise _bad_input(error) from error
        return AnalyticsFunnel(
            created=found.created,
            funded=found.funded,
            accepted=found.accepted,
            completed=found.completed,
        )

    @strawberry.field(
        description="Stored events, newest first, filtered. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def analytics_events(
        self,
        info: Info,
        filter: AnalyticsEventFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AnalyticsEvent]:
        given = filter or AnalyticsEventFilter()
        where = event_log.EventFilter(
            names=tuple(given.names or ()),
            user_id=user_uuid(given.user_id, field="filter.userId") if given.user_id else None,
            source=given.source,
            since=given.since,
            until=given.until,
        )
        try:
            page = await event_log.analytics_events(
                info.context.session_factory,
                require_viewer(info),
                where=where,
                first=first,
                after=after,
            )
        except InvalidInput as error:
            raise _bad_input(error) from error
        return Connection.from_page(page, AnalyticsEvent.from_row)


@strawberry.type
class AnalyticsMutations:
    @strawberry.mutation(
        description="Store up to 100 of the app's events (rate limited per user: "
        "RATE_LIMIT_EVENTS_PER_MINUTE calls a minute). A bad event refuses the batch.",
        permission_classes=[IsAuthenticated],
        graphql_type=TrackEventsResult,
    )
    async def track_events(
        self,
        info: Info,
        events: list[TrackEventInput],
    ) -> Result[TrackEventsSuccess]:
        viewer = require_viewer(info)
        await limit_request(info.context, "events", str(viewer.user_id))
        batch = [
            event_log.TrackedEvent(
                name=event.name,
                properties=_properties(event.properties),
                client_at=event.client_timestamp,
            )
            for event in events
        ]
        enabled = await system_settings.value_of(
            info.context.session_factory, "analytics.ingest_enabled"
        )

        async def run(work: UnitOfWork) -> TrackEventsSuccess:
            accepted = await event_log.track_events(work, viewer, events=batch, enabled=enabled)
            return TrackEventsSuccess(accepted=accepted)

        return await mutate(info, run)


def _properties(value: Any) -> Any:
    return {} if value is None else value
