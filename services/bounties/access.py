"""Who may act: posters, assigned hunters, staff; suspended accounts may not post or apply."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import User, UserStatus
from services.bounties.errors import SuspendedAccount
from services.bounties.lifecycle import BountyState
from services.errors import NotAllowed
from services.viewer import Viewer

_STATUS = select(col(User.status)).where(col(User.id) == bindparam("user_id"))


def require_poster(viewer: Viewer, state: BountyState, action: str) -> None:
    if not viewer.owns(state.poster_id):
        raise NotAllowed(f"only the poster can {action}", field="bountyId")


def require_hunter(viewer: Viewer, state: BountyState, action: str) -> None:
    if state.hunter_id is None or not viewer.owns(state.hunter_id):
        raise NotAllowed(f"only the assigned hunter can {action}", field="bountyId")


def require_party(viewer: Viewer, state: BountyState, action: str) -> None:
    if not (viewer.owns(state.poster_id) or (state.hunter_id and viewer.owns(state.hunter_id))):
        raise NotAllowed(f"only the poster or the assigned hunter can {action}", field="bountyId")


async def require_active(session: AsyncSession, viewer: Viewer) -> None:
    """Tokens outlive a suspension by up to their lifetime: the account row decides."""
    require_active_status(await session.scalar(_STATUS, {"user_id": viewer.user_id}))


def require_active_status(status: UserStatus | None) -> None:
    """`require_active` on a status read already (`lifecycle.load_state_and_account`)."""
    if status is not UserStatus.ACTIVE:
        raise SuspendedAccount("suspended accounts cannot post bounties or apply")
