"""Risk root fields (admins): assess a user, list assessments, take an action."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.db.models import RiskLevel, WorkflowStatus
from app.security.permissions import IsAdmin
from resolvers.lists import connection
from resolvers.mutations import (
    identity_of,
    mutate,
    node_uuid,
    request_meta,
    require_viewer,
    user_uuid,
)
from schema.context import Info
from schema.errors import Result
from schema.pagination import Connection
from schema.risk import (
    CategoryPolicyEntry,
    CompleteRemediationStepInput,
    CompleteRemediationStepResult,
    RemediationSuccess,
    RemediationWorkflow,
    RiskAssessment,
    RiskRestrictions,
    SetCategoryPolicyInput,
    SetCategoryPolicyResult,
    SetCategoryPolicySuccess,
    StartRemediationInput,
    StartRemediationResult,
    TakeRiskActionInput,
    TakeRiskActionResult,
    TakeRiskActionSuccess,
)
from services.errors import NotFound
from services.risk import actions, assessments, categories, remediation
from services.unit_of_work import UnitOfWork


@strawberry.type
class RiskQueries:
    @strawberry.field(
        description="The user's risk as of now (recorded as their latest assessment); null for "
        "an unknown user. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def risk_assessment(self, info: Info, user_id: relay.GlobalID) -> RiskAssessment | None:
        target = user_uuid(user_id, field="userId")
        try:
            row = await assessments.assess(
                info.context.session_factory, require_viewer(info), user_id=target
            )
        except NotFound:
            return None
        return RiskAssessment.from_row(row)

    @strawberry.field(
        description="Latest assessments, riskiest first, optionally of one level. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def risk_assessments(
        self,
        info: Info,
        level: RiskLevel | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[RiskAssessment]:
        return await connection(
            info,
            assessments.risk_assessments,
            RiskAssessment.from_row,
            level=level,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Every bounty category with its policy. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def category_policies(self, info: Info) -> list[CategoryPolicyEntry]:
        rows = await categories.category_policies(
            info.context.session_factory, require_viewer(info)
        )
        return [CategoryPolicyEntry.from_row(row) for row in rows]

    @strawberry.field(
        description="Remediation workflows with their steps, oldest first. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def remediation_workflows(
        self,
        info: Info,
        status: WorkflowStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[RemediationWorkflow]:
        return await connection(
            info,
            remediation.remediation_workflows,
            RemediationWorkflow.from_card,
            status=status,
            first=first,
            after=after,
        )


@strawberry.type
class RiskMutations:
    @strawberry.mutation(
        description="FLAG, REQUIRE_VERIFICATION, RESTRICT_PAYMENTS, RESTRICT_PAYOUTS, SUSPEND or "
        "CLEAR (lifts every restriction). Audited. Admins only.",
        permission_classes=[IsAdmin],
        graphql_type=TakeRiskActionResult,
    )
    async def take_risk_action(
        self, info: Info, input: TakeRiskActionInput
    ) -> Result[TakeRiskActionSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)
        target = user_uuid(input.user_id, field="input.userId")

        async def run(work: UnitOfWork) -> TakeRiskActionSuccess:
            row = await actions.take_risk_action(
                work,
                viewer,
                identity=identity,
                user_id=target,
                action=input.action,
                reason=input.reason,
                meta=meta,
            )
            return TakeRiskActionSuccess(restrictions=RiskRestrictions.from_row(row))

        return await mutate(info, run)

    @strawberry.mutation(
        description="Set a category ALLOWED, RESTRICTED or PROHIBITED (audited). Admins only.",
        permission_classes=[IsAdmin],
        graphql_type=SetCategoryPolicyResult,
    )
    async def set_category_policy(
        self, info: Info, input: SetCategoryPolicyInput
    ) -> Result[SetCategoryPolicySuccess]:
        viewer, meta = require_viewer(info), request_meta(info)

        async def run(work: UnitOfWork) -> SetCategoryPolicySuccess:
            row = await categories.set_category_policy(
                work,
                viewer,
                slug=input.category,
                policy=input.policy,
                reason=input.reason,
                meta=meta,
            )
            return SetCategoryPolicySuccess(entry=CategoryPolicyEntry.from_row(row))

        return await mutate(info, run)

    @strawberry.mutation(
        description="Open a remediation workflow of ordered steps for a user. Admins only.",
        permission_classes=[IsAdmin],
        graphql_type=StartRemediationResult,
    )
    async def start_remediation(
        self, info: Info, input: StartRemediationInput
    ) -> Result[RemediationSuccess]:
        viewer, meta = require_viewer(info), request_meta(info)
        target = user_uuid(input.user_id, field="input.userId")
        steps = [
            remediation.NewStep(
                title=step.title,
                assignee_id=user_uuid(step.assignee_id, field=f"input.steps[{i}].assigneeId")
                if step.assignee_id is not None
                else None,
                due_at=step.due_at,
            )
            for i, step in enumerate(input.steps)
        ]

        async def run(work: UnitOfWork) -> RemediationSuccess:
            card = await remediation.start_remediation(
                work, viewer, user_id=target, reason=input.reason, steps=steps, meta=meta
            )
            return RemediationSuccess(workflow=RemediationWorkflow.from_card(card))

        return await mutate(info, run)

    @strawberry.mutation(
        description="Mark a step done; the last one completes the workflow. Admins only.",
        permission_classes=[IsAdmin],
        graphql_type=CompleteRemediationStepResult,
    )
    async def complete_remediation_step(
        self, info: Info, input: CompleteRemediationStepInput
    ) -> Result[RemediationSuccess]:
        viewer, meta = require_viewer(info), request_meta(info)
        step_id = node_uuid(input.step_id, "RemediationStep", field="input.stepId")

        async def run(work: UnitOfWork) -> RemediationSuccess:
            card = await remediation.complete_step(
                work, viewer, step_id=step_id, note=input.note, meta=meta
            )
            return RemediationSuccess(workflow=RemediationWorkflow.from_card(card))

        return await mutate(info, run)
