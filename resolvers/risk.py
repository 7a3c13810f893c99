"""Risk root fields (admins): assess a user, list assessments, take an action."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.db.models import RiskLevel
from app.security.permissions import IsAdmin
from resolvers.mutations import identity_of, mutate, request_meta, require_viewer, user_uuid
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError, Result
from schema.pagination import Connection
from schema.risk import (
    CategoryPolicyEntry,
    RiskAssessment,
    RiskRestrictions,
    SetCategoryPolicyInput,
    SetCategoryPolicyResult,
    SetCategoryPolicySuccess,
    TakeRiskActionInput,
    TakeRiskActionResult,
    TakeRiskActionSuccess,
)
from services.errors import InvalidInput, NotFound
from services.risk import actions, assessments, categories
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
        try:
            page = await assessments.risk_assessments(
                info.context.session_factory,
                require_viewer(info),
                level=level,
                first=first,
                after=after,
            )
        except InvalidInput as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Connection.from_page(page, RiskAssessment.from_row)

    @strawberry.field(
        description="Every bounty category with its policy. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def category_policies(self, info: Info) -> list[CategoryPolicyEntry]:
        rows = await categories.category_policies(
            info.context.session_factory, require_viewer(info)
        )
        return [CategoryPolicyEntry.from_row(row) for row in rows]


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
