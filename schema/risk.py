"""Risk types: assessments with their signals, actions and the restrictions they leave."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay

from app.db.models import CategoryPolicy, RiskLevel, StepStatus, WorkflowStatus
from app.db.models import RiskAssessment as AssessmentRow
from app.db.models import RiskRestriction as RestrictionRow
from schema.context import Info
from schema.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from schema.users import User
from services.risk import categories, remediation
from services.risk.actions import RiskAction

strawberry.enum(RiskLevel, description="LOW < 25 <= MEDIUM < 50 <= HIGH < 75 <= CRITICAL (score).")
strawberry.enum(RiskAction, description="What an admin does about a user's risk.")
strawberry.enum(
    CategoryPolicy,
    description="ALLOWED; RESTRICTED: a moderator reviews each bounty before it is published; "
    "PROHIBITED: refused.",
)

__all__ = ["RiskLevel"]


@strawberry.type(description="One measured signal: its value, its weight and the points it gave.")
class RiskSignal:
    name: str = strawberry.field(description='As "FAILED_PAYMENT_RATIO"; see the README.')
    value: float
    weight: int = strawberry.field(description="The most points this signal can give.")
    points: int


@strawberry.type(description="A user's risk: 0-100 score, level, and the signals behind it.")
class RiskAssessment:
    user_id: strawberry.ID
    score: int
    level: RiskLevel
    signals: list[RiskSignal] = strawberry.field(description="Every signal, scoring or not.")
    assessed_at: datetime
    row: strawberry.Private[AssessmentRow]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        found = await info.context.loaders.user_by_id.load(self.row.user_id)
        return User.from_row(found, reveal_removed=True) if found is not None else None

    @classmethod
    def from_row(cls, row: AssessmentRow) -> Self:
        return cls(
            user_id=strawberry.ID(relay.to_base64("User", str(row.user_id))),
            score=row.score,
            level=row.level,
            signals=[
                RiskSignal(
                    name=s["name"], value=float(s["value"]), weight=s["weight"], points=s["points"]
                )
                for s in row.signals
            ],
            assessed_at=row.assessed_at,
            row=row,
        )


@strawberry.type(description="The restrictions in force on a user after risk actions.")
class RiskRestrictions:
    flagged: bool
    verification_required: bool
    payments_restricted: bool
    payouts_restricted: bool
    reason: str | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RestrictionRow) -> Self:
        return cls(
            flagged=row.flagged,
            verification_required=row.verification_required,
            payments_restricted=row.payments_restricted,
            payouts_restricted=row.payouts_restricted,
            reason=row.reason,
            updated_at=row.updated_at,
        )


@strawberry.input
class TakeRiskActionInput:
    user_id: relay.GlobalID
    action: RiskAction
    reason: str = strawberry.field(description="Why: kept in the audit log (1-500 characters).")


@strawberry.type(description="The action is in force (SUSPEND also ended every session).")
class TakeRiskActionSuccess:
    restrictions: RiskRestrictions


TakeRiskActionResult = Annotated[
    TakeRiskActionSuccess | NotFoundError | NotAllowedError | InvalidInputError,
    strawberry.union("TakeRiskActionResult"),
]


@strawberry.type(description="A bounty category and the policy admins set for it.")
class CategoryPolicyEntry:
    category: str
    name: str
    policy: CategoryPolicy
    reason: str | None

    @classmethod
    def from_row(cls, row: categories.CategoryPolicyRow) -> Self:
        return cls(category=row.slug, name=row.name, policy=row.policy, reason=row.reason)


@strawberry.input
class SetCategoryPolicyInput:
    category: str
    policy: CategoryPolicy
    reason: str | None = None


@strawberry.type
class SetCategoryPolicySuccess:
    entry: CategoryPolicyEntry


SetCategoryPolicyResult = Annotated[
    SetCategoryPolicySuccess | NotFoundError | InvalidInputError,
    strawberry.union("SetCategoryPolicyResult"),
]


strawberry.enum(
    WorkflowStatus, name="RemediationStatus", description="OPEN until every step is done."
)
strawberry.enum(StepStatus, name="RemediationStepStatus")


def _gid(kind: str, value: object) -> strawberry.ID:
    return strawberry.ID(relay.to_base64(kind, str(value)))


@strawberry.type(description="One step of a remediation workflow.")
class RemediationStep:
    id: strawberry.ID
    position: int
    title: str
    status: StepStatus
    due_at: datetime | None
    completed_at: datetime | None
    note: str | None
    assignee_uuid: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Who should do it; null when unassigned.")
    async def assignee(self, info: Info) -> User | None:
        if self.assignee_uuid is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.assignee_uuid)
        return User.from_row(row) if row is not None else None


@strawberry.type(description="A remediation for a risky user: ordered steps.")
class RemediationWorkflow:
    id: strawberry.ID
    user_id: strawberry.ID
    status: WorkflowStatus
    reason: str
    created_at: datetime
    completed_at: datetime | None
    steps: list[RemediationStep]

    @classmethod
    def from_card(cls, card: remediation.WorkflowCard) -> Self:
        return cls(
            id=_gid("RemediationWorkflow", card.id),
            user_id=_gid("User", card.user_id),
            status=card.status,
            reason=card.reason,
            created_at=card.created_at,
            completed_at=card.completed_at,
            steps=[
                RemediationStep(
                    id=_gid("RemediationStep", step.id),
                    position=step.position,
                    title=step.title,
                    status=step.status,
                    due_at=step.due_at,
                    completed_at=step.completed_at,
                    note=step.note,
                    assignee_uuid=step.assignee_id,
                )
                for step in card.steps
            ],
        )


@strawberry.input
class RemediationStepInput:
    title: str
    assignee_id: relay.GlobalID | None = None
    due_at: datetime | None = None


@strawberry.input
class StartRemediationInput:
    user_id: relay.GlobalID
    reason: str
    steps: list[RemediationStepInput]


@strawberry.input
class CompleteRemediationStepInput:
    step_id: relay.GlobalID
    note: str | None = None


@strawberry.type
class RemediationSuccess:
    workflow: RemediationWorkflow


StartRemediationResult = Annotated[
    RemediationSuccess | NotFoundError | InvalidInputError,
    strawberry.union("StartRemediationResult"),
]
CompleteRemediationStepResult = Annotated[
    RemediationSuccess | NotFoundError | InvalidInputError | ConflictError,
    strawberry.union("CompleteRemediationStepResult"),
]
