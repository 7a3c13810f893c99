"""Resolving a report: dismiss it, remove the content, warn or suspend its author.

A report is resolved once (compare-and-set on OPEN). Acting on content resolves every open
report of the same content with it; each reporter is told their report was reviewed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, select, update

from app.db.models import (
    ContentReport,
    ModerationAction,
    NotificationType,
    ReportStatus,
    UserStatus,
)
from app.db.models.base import utcnow
from services import audit, users
from services.audit import RequestMeta
from services.errors import Conflict, InvalidInput, NotFound
from services.identity import Identity
from services.moderation import targets
from services.moderation.reports import MAX_NOTE, require_staff
from services.notifications.later import notify_later
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

c = ContentReport.__table__.c  # type: ignore[attr-defined]
RESOLVED = "moderation.resolved"
A = ModerationAction


async def resolve_report(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    identity: Identity,
    report_id: uuid.UUID,
    action: ModerationAction,
    note: str | None,
    meta: RequestMeta,
) -> ContentReport:
    require_staff(viewer)
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"a note takes at most {MAX_NOTE} characters", field="input.note")
    session = work.session
    now = utcnow()
    status = ReportStatus.DISMISSED if action is A.DISMISS else ReportStatus.RESOLVED
    report = await session.scalar(select(ContentReport).where(c.id == report_id).with_for_update())
    if report is None:
        raise NotFound("no such report", field="input.reportId")
    if report.status is not ReportStatus.OPEN:
        raise Conflict(f"the report is already {report.status.value}", field="input.reportId")
    same_target = and_(
        c.status == ReportStatus.OPEN,
        c.target_type == report.target_type,
        c.target_id == report.target_id,
    )
    # DISMISS closes this report only; an action on the content closes all its open reports.
    where = c.id == report_id if action is A.DISMISS else same_target
    closed = await session.execute(
        update(ContentReport)
        .where(where)
        .values(
            status=status,
            action=action,
            resolution_note=note or None,
            resolved_by=viewer.user_id,
            resolved_at=now,
        )
        .returning(c.id, c.reporter_id)
        .execution_options(synchronize_session=False)
    )
    reporters = {row.reporter_id for row in closed if row.reporter_id is not None}
    kind = report.target_type.value.lower()
    if action is A.REMOVE_CONTENT:
        await targets.remove(session, report.target_type, report.target_id, now)
        await notify_later(work, [report.author_id], NotificationType.CONTENT_REMOVED, subject=kind)
    elif action is A.WARN_USER:
        await notify_later(work, [report.author_id], NotificationType.ACCOUNT_WARNING, subject=kind)
    elif action is A.SUSPEND_USER:
        await users.set_status(
            work,
            viewer,
            identity=identity,
            user_id=report.author_id,
            status=UserStatus.SUSPENDED,
            meta=meta,
        )
    await notify_later(
        work,
        reporters,
        NotificationType.REPORT_RESOLVED,
        subject=f"{kind}: {status.value.lower()}",
        data={"reportId": str(report.id)},
    )
    audit.record(
        session,
        action=RESOLVED,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=report.author_id,
        report=str(report.id),
        moderation=action.value,
        targetType=report.target_type.value,
        content=str(report.target_id),
        closed=len(reporters),
    )
    await session.refresh(report)
    return report
