"""Risk actions admins take on a user, each audited; CLEAR lifts every restriction."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.models import RiskRestriction, User, UserStatus
from app.db.models.base import utcnow
from services import audit, users
from services.audit import RequestMeta
from services.errors import InvalidInput, NotAllowed, NotFound
from services.identity import Identity
from services.risk import assessments
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

RISK_ACTION = "risk.action"
MAX_REASON = 500
r = RiskRestriction.__table__.c  # type: ignore[attr-defined]


class RiskAction(StrEnum):
    FLAG = "FLAG"
    REQUIRE_VERIFICATION = "REQUIRE_VERIFICATION"
    RESTRICT_PAYMENTS = "RESTRICT_PAYMENTS"
    RESTRICT_PAYOUTS = "RESTRICT_PAYOUTS"
    SUSPEND = "SUSPEND"
    CLEAR = "CLEAR"


_SETS = {
    RiskAction.FLAG: {"flagged": True},
    RiskAction.REQUIRE_VERIFICATION: {"verification_required": True},
    RiskAction.RESTRICT_PAYMENTS: {"payments_restricted": True},
    RiskAction.RESTRICT_PAYOUTS: {"payouts_restricted": True},
    RiskAction.CLEAR: {
        "flagged": False,
        "verification_required": False,
        "payments_restricted": False,
        "payouts_restricted": False,
    },
}


async def take_risk_action(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    identity: Identity,
    user_id: uuid.UUID,
    action: RiskAction,
    reason: str,
    meta: RequestMeta,
) -> RiskRestriction:
    """Apply `action` to the user; the restrictions in force after it."""
    if not viewer.is_admin:
        raise NotAllowed("admins only")
    if not 1 <= len(reason.strip()) <= MAX_REASON:
        raise InvalidInput(f"give a reason of 1 to {MAX_REASON} characters", field="input.reason")
    if viewer.owns(user_id):
        raise NotAllowed("not on your own account", field="input.userId")
    session = work.session
    status = await session.scalar(select(col(User.status)).where(col(User.id) == user_id))
    if status is None or status is UserStatus.DELETED:
        raise NotFound("no such user", field="input.userId")
    if action is RiskAction.SUSPEND:
        await users.set_status(
            work, viewer, identity=identity, user_id=user_id, status=UserStatus.SUSPENDED, meta=meta
        )
        values = {"flagged": True}
    else:
        values = _SETS[action]
    now = utcnow()
    row = {**values, "reason": reason.strip(), "updated_at": now, "updated_by": viewer.user_id}
    restriction: RiskRestriction | None = await session.scalar(
        insert(RiskRestriction)
        .values(user_id=user_id, **row)
        .on_conflict_do_update(index_elements=[r.user_id], set_=row)
        .returning(RiskRestriction)
    )
    assert restriction is not None
    audit.record(
        session,
        action=RISK_ACTION,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=user_id,
        risk=action.value,
        reason=reason.strip(),
    )
    await assessments.record(session, user_id)
    return restriction
