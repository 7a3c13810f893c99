"""Creating notifications and push tokens directly through the services, for tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlmodel import col

from app.broker import InProcessBroker
from app.db.engine import SessionFactory
from app.db.models import NotificationType, Platform, PushDelivery, PushToken, User
from services.notifications import store, tokens
from services.notifications.store import NotificationCard
from services.unit_of_work import unit_of_work
from services.viewer import Viewer

_keys = itertools.count(1)


def viewer_of(user: User) -> Viewer:
    return Viewer(user_id=user.id, role=user.role)


async def register_device(session_factory: SessionFactory, user: User, suffix: str) -> str:
    token = f"ExponentPushToken[device-{suffix}-xxxxxxxx]"
    async with unit_of_work(session_factory, InProcessBroker()) as work:
        await tokens.register(
            work, viewer_of(user), token=token, platform=Platform.IOS, device_id=f"dev-{suffix}"
        )
    return token


async def notify(
    session_factory: SessionFactory,
    user: User,
    count: int = 1,
    *,
    type_: NotificationType = NotificationType.PAYMENT_RELEASED,
    now: datetime | None = None,
) -> list[NotificationCard]:
    created = []
    async with unit_of_work(session_factory, InProcessBroker()) as work:
        for _ in range(count):
            card = await store.create(
                work,
                user_id=user.id,
                type_=type_,
                title="Payment released",
                body="The reward was released.",
                data={"bountyId": str(uuid.uuid4())},
                dedupe_key=f"test:{next(_keys)}",
                now=now,
            )
            assert card is not None
            created.append(card)
    return created


async def deliveries(session_factory: SessionFactory) -> list[tuple[str, str | None, str | None]]:
    """(status, ticket id or None, error) of every push delivery, in id order."""
    async with session_factory() as session:
        rows = await session.execute(
            select(
                col(PushDelivery.status), col(PushDelivery.ticket_id), col(PushDelivery.error)
            ).order_by(col(PushDelivery.id))
        )
        return [(str(status), ticket, error) for status, ticket, error in rows]


async def token_state(session_factory: SessionFactory, token: str) -> tuple[bool, str | None]:
    async with session_factory() as session:
        row = (
            await session.execute(
                select(col(PushToken.active), col(PushToken.deactivated_reason)).where(
                    col(PushToken.token) == token
                )
            )
        ).one()
        return bool(row[0]), row[1]


async def queued_jobs(session_factory: SessionFactory) -> list[str]:
    async with session_factory() as session:
        rows = await session.execute(text("SELECT entrypoint FROM pgqueuer ORDER BY id"))
        return [row[0] for row in rows]
