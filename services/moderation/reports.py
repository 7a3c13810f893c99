"""Reporting content, and the queue staff review (oldest first)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from app.db.engine import SessionFactory
from app.db.models import ContentReport, ReportReason, ReportStatus, ReportTarget
from app.db.models.base import utcnow
from services import audit
from services.audit import RequestMeta
from services.errors import InvalidInput, NotAllowed
from services.moderation import targets
from services.moderation.errors import AlreadyReported
from services.pagination import Counted, Page, decode_cursor, encode_cursor, page_size, read_page
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

c = ContentReport.__table__.c  # type: ignore[attr-defined]
REPORTED = "moderation.reported"
MAX_NOTE = 1000


def require_staff(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise NotAllowed("moderators and admins only")


async def report_content(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    target: ReportTarget,
    target_id: uuid.UUID,
    reason: ReportReason,
    note: str | None,
    meta: RequestMeta,
) -> ContentReport:
    """Report content the viewer can see, not their own; ALREADY_REPORTED while one is open."""
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"a note takes at most {MAX_NOTE} characters", field="input.note")
    session = work.session
    author = await targets.author_of(session, viewer, target, target_id)
    if author == viewer.user_id:
        raise NotAllowed("you cannot report your own content", field="input.targetId")
    report_id = await session.scalar(
        insert(ContentReport)
        .values(
            id=uuid.uuid4(),
            reporter_id=viewer.user_id,
            target_type=target,
            target_id=target_id,
            author_id=author,
            reason=reason,
            note=note or None,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(
            index_elements=[c.reporter_id, c.target_type, c.target_id],
            index_where=c.status == ReportStatus.OPEN,
        )
        .returning(c.id)
    )
    if report_id is None:
        raise AlreadyReported(
            "you already reported this; staff will review it", field="input.targetId"
        )
    audit.record(
        session,
        action=REPORTED,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=author,
        report=str(report_id),
        targetType=target.value,
        content=str(target_id),
        reason=reason.value,
    )
    report = await session.get(ContentReport, report_id)
    assert report is not None
    return report


async def review_queue(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    status: ReportStatus,
    first: int | None,
    after: str | None,
    count: bool = False,
) -> Page[ContentReport]:
    """Reports in `status`, oldest first (with `count`, how many in all): one statement a page."""
    require_staff(viewer)
    size = page_size(first)
    query = (
        select(ContentReport).where(c.status == status).order_by(c.created_at, c.id).limit(size + 1)
    )
    if after is not None:
        try:
            created, last = decode_cursor(after)
            key = (datetime.fromisoformat(created), uuid.UUID(last))
        except (TypeError, ValueError) as error:
            raise InvalidInput("not a cursor this API issued", field="after") from error
        query = query.where(and_(tuple_(c.created_at, c.id) > key))
    total = Counted(ContentReport.__table__, [c.status == status]) if count else None  # type: ignore[attr-defined]
    rows, found = await read_page(session_factory, query, total=total, after=after)
    return Page.from_rows(
        [row[0] for row in rows],
        size,
        lambda row: encode_cursor([row.created_at.isoformat(), str(row.id)]),
        after=after,
        total=found,
    )
