"""Per type x channel switches and quiet hours (in the user's own time zone).

Quiet hours hold back push only, the channel that makes a phone buzz: the notification is still
stored in-app and mailed if mail is on for its type.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    Channel,
    NotificationPreference,
    NotificationSettings,
    NotificationType,
    User,
    UserStatus,
)
from services.errors import InvalidInput, NotAllowed
from services.notifications.catalog import default_enabled
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    time_zone: str

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.time_zone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight, e.g. 22:00-07:00


@dataclass(frozen=True, slots=True)
class Preferences:
    time_zone: str
    quiet_hours: QuietHours | None
    switches: dict[tuple[NotificationType, Channel], bool]

    def enabled(self, type_: NotificationType, channel: Channel) -> bool:
        return self.switches.get((type_, channel), default_enabled(type_, channel))

    def channels(self, type_: NotificationType, now: datetime) -> set[Channel]:
        """The channels a notification of `type_` goes to at `now`."""
        chosen = {channel for channel in Channel if self.enabled(type_, channel)}
        if self.quiet_hours is not None and self.quiet_hours.contains(now):
            chosen.discard(Channel.PUSH)
        return chosen


async def load(session: AsyncSession, user_id: uuid.UUID) -> Preferences:
    settings = await session.get(NotificationSettings, user_id)
    rows = await session.execute(
        select(
            col(NotificationPreference.type),
            col(NotificationPreference.channel),
            col(NotificationPreference.enabled),
        ).where(col(NotificationPreference.user_id) == user_id)
    )
    switches = {(NotificationType(t), Channel(c)): bool(on) for t, c, on in rows}
    zone = settings.time_zone if settings else "UTC"
    quiet = None
    if settings is not None and settings.quiet_start is not None and settings.quiet_end is not None:
        quiet = QuietHours(settings.quiet_start, settings.quiet_end, zone)
    return Preferences(zone, quiet, switches)


async def preferences_of(session_factory: SessionFactory, viewer: Viewer) -> Preferences:
    async with session_factory() as session:
        return await load(session, viewer.user_id)


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"unknown time zone {name!r}", field="input.timeZone") from error
    return name


async def require_account(session: AsyncSession, viewer: Viewer) -> None:
    """A token can outlive its account's usability: the row decides (suspended: refused)."""
    status = await session.scalar(select(col(User.status)).where(col(User.id) == viewer.user_id))
    if status is not UserStatus.ACTIVE:
        raise NotAllowed("this account cannot change its notifications", field=None)


async def update(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    time_zone: str | None,
    quiet_hours: tuple[time, time] | None,
    clear_quiet_hours: bool,
    switches: list[tuple[NotificationType, Channel, bool]],
) -> None:
    session = work.session
    await require_account(session, viewer)
    values: dict[str, object] = {}
    if time_zone is not None:
        values["time_zone"] = check_time_zone(time_zone)
    if quiet_hours is not None:
        if quiet_hours[0] == quiet_hours[1]:
            raise InvalidInput("quiet hours must start and end apart", field="input.quietHours")
        values["quiet_start"], values["quiet_end"] = quiet_hours
    elif clear_quiet_hours:
        values["quiet_start"] = values["quiet_end"] = None
    if values:
        await session.execute(
            insert(NotificationSettings)
            .values(user_id=viewer.user_id, **values)
            .on_conflict_do_update(index_elements=["user_id"], set_=values)
        )
    for type_, channel, enabled in switches:
        await session.execute(
            insert(NotificationPreference)
            .values(
                user_id=viewer.user_id, type=type_.value, channel=channel.value, enabled=enabled
            )
            .on_conflict_do_update(
                index_elements=["user_id", "type", "channel"], set_={"enabled": enabled}
            )
        )
