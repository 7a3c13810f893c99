"""The audit log: who did what to whom, from where. Append-only; never secrets or tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AuditEvent

SIGN_UP = "auth.sign_up"
SIGN_UP_REPLAYED = "auth.sign_up_replayed"  # a repeat under its idempotency key: a new session
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_IN_THROTTLED = "auth.sign_in_throttled"
SIGN_IN_SUSPENDED = "auth.sign_in_suspended"
REFRESH_REUSED = "auth.refresh_token_reused"
SIGN_OUT = "auth.sign_out"
SIGN_OUT_EVERYWHERE = "auth.sign_out_everywhere"
PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105
PASSWORD_CHANGE_FAILED = "auth.password_change_failed"  # noqa: S105
PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"  # noqa: S105
PASSWORD_RESET = "auth.password_reset"  # noqa: S105
ROLE_CHANGED = "user.role_changed"
STATUS_CHANGED = "user.status_changed"
ACCOUNT_DELETED = "user.deleted"
PROFILE_UPDATED_BY_STAFF = "admin.profile_updated"
ADMIN_CREATED = "admin.created"


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Where a request came from, for audit rows and throttling keys."""

    ip: str | None = None
    user_agent: str | None = None
    trace_id: str | None = None


def record(
    session: AsyncSession,
    *,
    action: str,
    meta: RequestMeta,
    actor_id: uuid.UUID | None = None,
    target_id: uuid.UUID | None = None,
    **detail: Any,
) -> None:
    """Add one audit row to the caller's transaction."""
    session.add(
        AuditEvent(
            action=action,
            actor_id=actor_id,
            target_id=target_id,
            ip=meta.ip,
            user_agent=(meta.user_agent or "")[:300] or None,
            trace_id=meta.trace_id,
            detail=detail,
        )
    )
