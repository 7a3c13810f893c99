"""Remediation workflows: ordered steps with assignee and due date, completed one by one.

A workflow is COMPLETED when its last pending step is done (compare-and-set on PENDING, so a
step completes once). Every start and step is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    RemediationStep,
    RemediationWorkflow,
    StepStatus,
    User,
    UserStatus,
    WorkflowStatus,
)
from app.db.models.base import utcnow
from services import audit
from services.audit import RequestMeta
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.pagination import Counted, Page, decode_cursor, encode_cursor, page_size, read_page
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

STARTED = "risk.remediation_started"
STEP_DONE = "risk.remediation_step_done"
MAX_STEPS = 20
w = RemediationWorkflow.__table__.c  # type: ignore[attr-defined]
s = RemediationStep.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class NewStep:
    title: str
    assignee_id: uuid.UUID | None
    due_at: datetime | None


@dataclass(slots=True)
class StepCard:
    id: uuid.UUID
    position: int
    title: str
    status: StepStatus
    assignee_id: uuid.UUID | None
    due_at: datetime | None
    completed_at: datetime | None
    note: str | None


@dataclass(slots=True)
class WorkflowCard:
    id: uuid.UUID
    user_id: uuid.UUID
    status: WorkflowStatus
    reason: str
    created_at: datetime
    completed_at: datetime | None
    steps: list[StepCard]


def _require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise NotAllowed("admins only")


STEPS = (
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_array(
                    s.id, s.position, s.title, s.status, s.assignee_id, s.due_at, s.completed_at,
                    s.note,
                ),
                s.position,
            )
        )
    )
    .where(s.workflow_id == w.id)
    .scalar_subquery()
)  # fmt: skip


def _step(x: list[Any]) -> StepCard:
    return StepCard(
        id=uuid.UUID(x[0]),
        position=x[1],
        title=x[2],
        status=StepStatus(x[3]),
        assignee_id=uuid.UUID(x[4]) if x[4] else None,
        due_at=datetime.fromisoformat(x[5]) if x[5] else None,
        completed_at=datetime.fromisoformat(x[6]) if x[6] else None,
        note=x[7],
    )


def _card(row: Any) -> WorkflowCard:
    raw = row[6] or []
    steps = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return WorkflowCard(
        id=row[0],
        user_id=row[1],
        status=WorkflowStatus(row[2]),
        reason=row[3],
        created_at=row[4],
        completed_at=row[5],
        steps=[_step(x) for x in steps],
    )


_COLUMNS = (w.id, w.user_id, w.status, w.reason, w.created_at, w.completed_at, STEPS)


async def _load(session: AsyncSession, workflow_id: uuid.UUID) -> WorkflowCard:
    row = (await session.execute(select(*_COLUMNS).where(w.id == workflow_id))).one()
    return _card(row)


async def start_remediation(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    user_id: uuid.UUID,
    reason: str,
    steps: list[NewStep],
    meta: RequestMeta,
) -> WorkflowCard:
    """Admins: open a workflow of 1 to 20 steps for a user."""
    _require_admin(viewer)
    if not 1 <= len(reason.strip()) <= 500:
        raise InvalidInput("give a reason of 1 to 500 characters", field="input.reason")
    if not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidInput(f"give 1 to {MAX_STEPS} steps", field="input.steps")
    for index, step in enumerate(steps):
        if not 1 <= len(step.title.strip()) <= 200:
            raise InvalidInput(
                "a step title takes 1 to 200 characters", field=f"input.steps[{index}].title"
            )
    session = work.session
    status = await session.scalar(select(col(User.status)).where(col(User.id) == user_id))
    if status is None or status is UserStatus.DELETED:
        raise NotFound("no such user", field="input.userId")
    workflow_id = uuid.uuid4()
    session.add(
        RemediationWorkflow(
            id=workflow_id, user_id=user_id, reason=reason.strip(), created_by=viewer.user_id
        )
    )
    await session.flush()
    session.add_all(
        RemediationStep(
            workflow_id=workflow_id,
            position=position,
            title=step.title.strip(),
            assignee_id=step.assignee_id,
            due_at=step.due_at,
        )
        for position, step in enumerate(steps, start=1)
    )
    await session.flush()
    audit.record(
        session,
        action=STARTED,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=user_id,
        workflow=str(workflow_id),
        steps=len(steps),
    )
    return await _load(session, workflow_id)


async def complete_step(
    work: UnitOfWork, viewer: Viewer, *, step_id: uuid.UUID, note: str | None, meta: RequestMeta
) -> WorkflowCard:
    """Admins: mark a pending step done; the last one completes the workflow."""
    _require_admin(viewer)
    if note is not None and len(note) > 1000:
        raise InvalidInput("a note takes at most 1,000 characters", field="input.note")
    session = work.session
    now = utcnow()
    done = (
        await session.execute(
            update(RemediationStep)
            .where(and_(s.id == step_id, s.status == StepStatus.PENDING))
            .values(
                status=StepStatus.DONE, completed_at=now, completed_by=viewer.user_id, note=note
            )
            .returning(s.workflow_id)
        )
    ).first()
    if done is None:
        exists = await session.scalar(select(s.status).where(s.id == step_id))
        if exists is None:
            raise NotFound("no such step", field="input.stepId")
        raise Conflict("this step is already done", field="input.stepId")
    workflow_id = done[0]
    pending = await session.scalar(
        select(func.count()).where(s.workflow_id == workflow_id, s.status == StepStatus.PENDING)
    )
    if not pending:
        await session.execute(
            update(RemediationWorkflow)
            .where(and_(w.id == workflow_id, w.status == WorkflowStatus.OPEN))
            .values(status=WorkflowStatus.COMPLETED, completed_at=now)
        )
    card = await _load(session, workflow_id)
    audit.record(
        session,
        action=STEP_DONE,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=card.user_id,
        workflow=str(workflow_id),
        step=str(step_id),
        completed=card.status is WorkflowStatus.COMPLETED,
    )
    return card


async def remediation_workflows(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    status: WorkflowStatus | None,
    first: int | None,
    after: str | None,
    count: bool = False,
) -> Page[WorkflowCard]:
    """Admins: workflows (and their steps) oldest first, with `count` how many in all: one
    statement a page."""
    _require_admin(viewer)
    size = page_size(first)
    conditions = [w.status == status] if status is not None else []
    query = select(*_COLUMNS).where(*conditions).order_by(w.created_at, w.id).limit(size + 1)
    if after is not None:
        try:
            created, last = decode_cursor(after)
            key = (datetime.fromisoformat(created), uuid.UUID(last))
        except (TypeError, ValueError) as error:
            raise InvalidInput("not a cursor this API issued", field="after") from error
        query = query.where(tuple_(w.created_at, w.id) > key)
    total = Counted(RemediationWorkflow.__table__, conditions) if count else None  # type: ignore[attr-defined]
    rows, found = await read_page(session_factory, query, total=total, after=after)
    return Page.from_rows(
        [_card(row) for row in rows],
        size,
        lambda card: encode_cursor([card.created_at.isoformat(), str(card.id)]),
        after=after,
        total=found,
    )
