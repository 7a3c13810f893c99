"""Expo push tokens: one row per device (registering again moves the row), validated format."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.models import Platform, PushToken
from app.db.models.base import utcnow
from services.errors import InvalidInput, NotFound
from services.notifications.preferences import require_account
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

# `ExponentPushToken[...]` (older SDKs) or `ExpoPushToken[...]`.
EXPO_TOKEN = re.compile(r"^Expo(nent)?PushToken\[[A-Za-z0-9_\-:.]{10,160}\]$")


def check_token(token: str) -> str:
    token = token.strip()
    if not EXPO_TOKEN.match(token):
        raise InvalidInput(
            "not an Expo push token (ExponentPushToken[...] or ExpoPushToken[...])",
            field="input.token",
        )
    return token


async def register(
    work: UnitOfWork, viewer: Viewer, *, token: str, platform: Platform, device_id: str
) -> uuid.UUID:
    token = check_token(token)
    await require_account(work.session, viewer)
    device_id = device_id.strip()
    if not 1 <= len(device_id) <= 200:
        raise InvalidInput("deviceId: 1 to 200 characters", field="input.deviceId")
    values = {
        "user_id": viewer.user_id,
        "token": token,
        "platform": platform,
        "active": True,
        "deactivated_reason": None,
        "updated_at": utcnow(),
    }
    token_id = await work.session.scalar(
        insert(PushToken)
        .values(id=uuid.uuid4(), device_id=device_id, **values)
        .on_conflict_do_update(index_elements=["device_id"], set_=values)
        .returning(col(PushToken.id))
    )
    assert token_id is not None
    return uuid.UUID(str(token_id))


async def unregister(work: UnitOfWork, viewer: Viewer, *, device_id: str) -> None:
    changed = await work.session.scalar(
        update(PushToken)
        .where(col(PushToken.device_id) == device_id, col(PushToken.user_id) == viewer.user_id)
        .values(active=False, deactivated_reason="unregistered", updated_at=utcnow())
        .returning(col(PushToken.id))
    )
    if changed is None:
        raise NotFound("no push token for this device", field="deviceId")
