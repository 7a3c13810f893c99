"""Notifications as the API shows them, preferences, quiet hours and push tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Self, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.db.models import Channel, NotificationType, Platform
from schema.errors import InvalidInputError, NotAllowedError, NotFoundError
from services.notifications.preferences import Preferences
from services.notifications.store import NotificationCard

strawberry.enum(NotificationType, description="What a notification is about.")
strawberry.enum(Channel, description="Where a notification goes: IN_APP, PUSH (Expo), EMAIL.")
strawberry.enum(Platform, description="The device's platform.")


def notification_gid(notification_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(relay.to_base64("Notification", str(notification_id)))


@strawberry.type(description="Something that happened that you should know about.")
class Notification:
    id: strawberry.ID
    type: NotificationType
    title: str
    body: str
    data: JSON = strawberry.field(
        description='Deep-link data for the app, e.g. {"bountyId": ..., "conversationId": ...}.'
    )
    read_at: datetime | None
    created_at: datetime

    @strawberry.field
    def read(self) -> bool:
        return self.read_at is not None

    @classmethod
    def from_card(cls, card: NotificationCard) -> Self:
        return cls(
            id=notification_gid(card.id),
            type=card.type,
            title=card.title,
            body=card.body,
            data=cast(JSON, card.data),
            read_at=card.read_at,
            created_at=card.created_at,
        )


@strawberry.type(description="One type's channels.")
class NotificationChannels:
    type: NotificationType
    in_app: bool
    push: bool
    email: bool


@strawberry.type(description="From `start` to `end` in your time zone, nothing is pushed.")
class QuietHours:
    start: time
    end: time


@strawberry.type
class NotificationPreferences:
    time_zone: str = strawberry.field(description="An IANA name, e.g. Europe/Paris.")
    quiet_hours: QuietHours | None
    channels: list[NotificationChannels]

    @classmethod
    def from_preferences(cls, prefs: Preferences) -> Self:
        quiet = prefs.quiet_hours
        return cls(
            time_zone=prefs.time_zone,
            quiet_hours=QuietHours(start=quiet.start, end=quiet.end) if quiet else None,
            channels=[
                NotificationChannels(
                    type=type_,
                    in_app=prefs.enabled(type_, Channel.IN_APP),
                    push=prefs.enabled(type_, Channel.PUSH),
                    email=prefs.enabled(type_, Channel.EMAIL),
                )
                for type_ in NotificationType
            ],
        )


@strawberry.input
class QuietHoursInput:
    start: time
    end: time


@strawberry.input
class NotificationSwitchInput:
    type: NotificationType
    channel: Channel
    enabled: bool


@strawberry.input
class UpdateNotificationPreferencesInput:
    time_zone: str | None = None
    quiet_hours: QuietHoursInput | None = strawberry.field(
        default=strawberry.UNSET, description="null turns quiet hours off; omit to keep them."
    )
    channels: list[NotificationSwitchInput] = strawberry.field(default_factory=list)


@strawberry.input
class RegisterPushTokenInput:
    token: str = strawberry.field(description="ExponentPushToken[...] or ExpoPushToken[...].")
    platform: Platform
    device_id: str = strawberry.field(description="Stable per install: one token per device.")


@strawberry.type
class MarkNotificationReadSuccess:
    notification: Notification


@strawberry.type
class MarkAllNotificationsReadSuccess:
    count: int = strawberry.field(description="How many were unread.")


@strawberry.type
class UpdateNotificationPreferencesSuccess:
    preferences: NotificationPreferences


@strawberry.type
class RegisterPushTokenSuccess:
    device_id: str
    platform: Platform


@strawberry.type
class UnregisterPushTokenSuccess:
    device_id: str


MarkNotificationReadResult = Annotated[
    MarkNotificationReadSuccess | NotFoundError, strawberry.union("MarkNotificationReadResult")
]
UpdateNotificationPreferencesResult = Annotated[
    UpdateNotificationPreferencesSuccess | InvalidInputError | NotAllowedError,
    strawberry.union("UpdateNotificationPreferencesResult"),
]
RegisterPushTokenResult = Annotated[
    RegisterPushTokenSuccess | InvalidInputError | NotAllowedError,
    strawberry.union("RegisterPushTokenResult"),
]
UnregisterPushTokenResult = Annotated[
    UnregisterPushTokenSuccess | NotFoundError, strawberry.union("UnregisterPushTokenResult")
]
