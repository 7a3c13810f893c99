"""Analytics root fields: the app tracks events; admins read metrics, the funnel and events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.db.models import Granularity
from app.security.permissions import IsAdmin, IsAuthenticated
from app.security.rate_limits import limit_request
from resolvers.lists import bad_input, connection
from resolvers.mutations import require_viewer, user_uuid
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
from schema.errors import Result, user_error
from schema.pagination import Connection
from services import system_settings
from services.analytics import events as event_log
from services.analytics import metrics
from services.analytics.metrics import Metric
from services.errors import DomainError, InvalidInput


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
            raise bad_input(error) from error
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
            raise bad_input(error) from error
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
        return await connection(
            info,
            event_log.analytics_events,
            AnalyticsEvent.from_row,
            counted=False,
            where=where,
            first=first,
            after=after,
        )


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
        enabled = await system_settings.value_of(
            info.context.session_factory, "analytics.ingest_enabled"
        )
        batch = [
            event_log.TrackedEvent(event.name, event.properties, event.client_timestamp)
            for event in events
        ]
        try:
            # One INSERT, atomic by itself: on an autocommit session (no BEGIN/COMMIT).
            accepted = await event_log.track_events(
                info.context.reads, viewer, events=batch, enabled=enabled
            )
        except DomainError as error:
            return user_error(error)
        return TrackEventsSuccess(accepted=accepted)
