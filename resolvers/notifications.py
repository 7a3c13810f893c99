"""Root fields of notifications: the list, read state, preferences, push tokens, live feed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from app.broker import Event
from app.realtime.live import Live, subscription
from app.security.permissions import IsAuthenticated
from resolvers.lists import connection
from resolvers.mutations import mutate, node_uuid, require_viewer
from schema import notifications as types
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError, Result, UserError
from schema.notifications import Notification, NotificationPreferences
from schema.pagination import Connection
from services.errors import NotFound
from services.messaging.events import user_topic
from services.notifications import preferences, store, tokens
from services.notifications.store import NOTIFICATION, NotificationCard
from services.unit_of_work import UnitOfWork


def _notification_root(event: Event) -> Notification | None:
    if event.get("kind") != NOTIFICATION:
        return None
    return Notification.from_card(NotificationCard.from_fields(event["notification"]))


def _position(event: Event) -> int | None:
    return int(event["notification"]["seq"]) if event.get("kind") == NOTIFICATION else None


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="Your notifications, newest first.", permission_classes=[IsAuthenticated]
    )
    async def notifications(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        unread_only: bool = False,
    ) -> Connection[Notification]:
        return await connection(
            info,
            store.list_notifications,
            Notification.from_card,
            first=first,
            after=after,
            unread_only=unread_only,
        )

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def unread_notification_count(self, info: Info) -> int:
        return await store.unread_count(info.context.session_factory, require_viewer(info))

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        prefs = await preferences.preferences_of(info.context.session_factory, require_viewer(info))
        return NotificationPreferences.from_preferences(prefs)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], graphql_type=types.MarkNotificationReadResult
    )
    async def mark_notification_read(
        self, info: Info, id: relay.GlobalID
    ) -> Result[types.MarkNotificationReadSuccess]:
        viewer = require_viewer(info)
        notification_id = node_uuid(id, "Notification", field="id")

        async def run(work: UnitOfWork) -> uuid.UUID:
            await store.mark_read(work, viewer, notification_id=notification_id)
            return notification_id

        done = await mutate(info, run)
        if isinstance(done, UserError):
            return done
        card = await store.notification_by_id(info.context.session_factory, viewer, done)
        return types.MarkNotificationReadSuccess(notification=Notification.from_card(card))

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def mark_all_notifications_read(
        self, info: Info
    ) -> types.MarkAllNotificationsReadSuccess:
        viewer = require_viewer(info)

        async def run(work: UnitOfWork) -> int:
            return len(await store.mark_read(work, viewer, notification_id=None))

        count = await mutate(info, run)
        if isinstance(count, UserError):  # nothing to refuse here but an account gone since
            raise ApiError(count.message, count.code.value)
        return types.MarkAllNotificationsReadSuccess(count=count)

    @strawberry.mutation(
        description="Switch channels per type, set your time zone and quiet hours.",
        permission_classes=[IsAuthenticated],
        graphql_type=types.UpdateNotificationPreferencesResult,
    )
    async def update_notification_preferences(
        self, info: Info, input: types.UpdateNotificationPreferencesInput
    ) -> Result[types.UpdateNotificationPreferencesSuccess]:
        viewer = require_viewer(info)
        quiet = input.quiet_hours
        hours = (quiet.start, quiet.end) if quiet else None
        switches = [(item.type, item.channel, item.enabled) for item in input.channels]

        async def run(work: UnitOfWork) -> bool:
            await preferences.update(
                work,
                viewer,
                time_zone=input.time_zone,
                quiet_hours=hours,
                clear_quiet_hours=quiet is None,
                switches=switches,
            )
            return True

        done = await mutate(info, run)
        if isinstance(done, UserError):
            return done
        prefs = await preferences.preferences_of(info.context.session_factory, viewer)
        return types.UpdateNotificationPreferencesSuccess(
            preferences=NotificationPreferences.from_preferences(prefs)
        )

    @strawberry.mutation(
        description="Register this device's Expo push token (one per device).",
        permission_classes=[IsAuthenticated],
        graphql_type=types.RegisterPushTokenResult,
    )
    async def register_push_token(
        self, info: Info, input: types.RegisterPushTokenInput
    ) -> Result[types.RegisterPushTokenSuccess]:
        viewer = require_viewer(info)

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await tokens.register(
                work, viewer, token=input.token, platform=input.platform, device_id=input.device_id
            )

        done = await mutate(info, run)
        if isinstance(done, UserError):
            return done
        return types.RegisterPushTokenSuccess(
            device_id=input.device_id.strip(), platform=input.platform
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], graphql_type=types.UnregisterPushTokenResult
    )
    async def unregister_push_token(
        self, info: Info, device_id: str
    ) -> Result[types.UnregisterPushTokenSuccess]:
        viewer = require_viewer(info)

        async def run(work: UnitOfWork) -> str:
            await tokens.unregister(work, viewer, device_id=device_id)
            return device_id

        done = await mutate(info, run)
        if isinstance(done, UserError):
            return done
        return types.UnregisterPushTokenSuccess(device_id=device_id)


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(
        description="Your new notifications. With `after` (the last one you have), first the "
        "ones you missed, in order, then live ones."
    )
    async def notification_added(
        self, info: Info, after: relay.GlobalID | None = None
    ) -> AsyncGenerator[Notification, None]:
        viewer = require_viewer(info)
        user_id = viewer.user_id
        sessions = info.context.session_factory
        start = None
        if after is not None:
            try:
                start = await store.position_of(
                    sessions, viewer, node_uuid(after, "Notification", field="after")
                )
            except NotFound as error:
                raise ApiError(error.message, BAD_USER_INPUT, field="after") from error
        live = Live(
            field="notificationAdded",
            topic=user_topic(user_id),
            access=f"user:{user_id}",
            to_root=_notification_root,
            position=_position,
            replay=lambda seq: store.replay(sessions, user_id, seq),
            head=lambda: store.head(sessions, user_id),
            start=start,
            resume_argument="after",
        )
        return await subscription(info, live)
