"""Queue a notification from any domain, in the caller's transaction (`notifications.create`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from app.db.models import NotificationType
from services.unit_of_work import UnitOfWork

CREATE_JOB = "notifications.create"


async def notify_later(
    work: UnitOfWork,
    user_ids: Iterable[uuid.UUID],
    type_: NotificationType,
    *,
    subject: str = "",
    bounty_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Notifications for `user_ids`, created by a worker once this transaction commits.
    Without a `subject`, the bounty's title is used."""
    people = sorted({str(user) for user in user_ids})
    if not people:
        return
    payload: dict[str, Any] = {
        "userIds": people,
        "type": type_.value,
        "subject": subject,
        "data": {**(data or {}), **({"bountyId": str(bounty_id)} if bounty_id else {})},
    }
    await work.enqueue(CREATE_JOB, payload)
