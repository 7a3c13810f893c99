"""Who is told about a bounty's transition: its poster, its hunter, and (while it is being
filled) its applicants; never the person who made the change."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Application, ApplicationStatus, Bounty, BountyStatus

_APPLICANTS_HEAR = {BountyStatus.ASSIGNED, BountyStatus.CANCELLED, BountyStatus.EXPIRED}


async def recipients(session: AsyncSession, change: dict[str, Any]) -> set[uuid.UUID]:
    bounty_id = uuid.UUID(change["bountyId"])
    row = (
        await session.execute(
            select(col(Bounty.poster_id), col(Bounty.hunter_id)).where(col(Bounty.id) == bounty_id)
        )
    ).one_or_none()
    if row is None:
        return set()
    people = {person for person in row if person is not None}
    if BountyStatus(change["status"]) in _APPLICANTS_HEAR:
        applicants = await session.scalars(
            select(col(Application.hunter_id)).where(
                col(Application.bounty_id) == bounty_id,
                col(Application.status) != ApplicationStatus.WITHDRAWN,
            )
        )
        people.update(applicants)
    actor = change.get("actorId")
    if actor:
        people.discard(uuid.UUID(actor))
    return people
