"""Moderation root fields: anyone signed in reports content; staff review and resolve."""

from __future__ import annotations

import uuid

import strawberry
from strawberry import relay

from app.db.models import ReportStatus
from app.security.permissions import IsAuthenticated, IsStaff
from resolvers.lists import connection
from resolvers.mutations import identity_of, mutate, node_uuid, request_meta, require_viewer
from schema.context import Info
from schema.errors import Result
from schema.moderation import (
    TARGET_TYPES,
    ContentReport,
    ReportContentInput,
    ReportContentResult,
    ReportContentSuccess,
    ResolveReportInput,
    ResolveReportResult,
    ResolveReportSuccess,
)
from schema.pagination import Connection
from services.moderation import reports, resolution
from services.unit_of_work import UnitOfWork


@strawberry.type
class ModerationQueries:
    @strawberry.field(
        description="Reports by status (OPEN by default), oldest first. Moderators and admins.",
        permission_classes=[IsStaff],
    )
    async def content_review_queue(
        self,
        info: Info,
        status: ReportStatus = ReportStatus.OPEN,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ContentReport]:
        return await connection(
            info,
            reports.review_queue,
            ContentReport.from_row,
            status=status,
            first=first,
            after=after,
        )


def _report_uuid(global_id: relay.GlobalID) -> uuid.UUID:
    return node_uuid(global_id, "ContentReport", field="input.reportId")


@strawberry.type
class ModerationMutations:
    @strawberry.mutation(
        description="Report a bounty, message, profile or review to the moderators (one open "
        "report per piece of content).",
        permission_classes=[IsAuthenticated],
        graphql_type=ReportContentResult,
    )
    async def report_content(
        self, info: Info, input: ReportContentInput
    ) -> Result[ReportContentSuccess]:
        viewer, meta = require_viewer(info), request_meta(info)
        target_id = node_uuid(
            input.target_id, TARGET_TYPES[input.target_type], field="input.targetId"
        )

        async def run(work: UnitOfWork) -> ReportContentSuccess:
            report = await reports.report_content(
                work,
                viewer,
                target=input.target_type,
                target_id=target_id,
                reason=input.reason,
                note=input.note,
                meta=meta,
            )
            return ReportContentSuccess(report=ContentReport.from_row(report))

        return await mutate(info, run)

    @strawberry.mutation(
        description="Resolve a report: DISMISS, REMOVE_CONTENT, WARN_USER or SUSPEND_USER. "
        "Moderators and admins (moderators suspend plain users only).",
        permission_classes=[IsStaff],
        graphql_type=ResolveReportResult,
    )
    async def resolve_report(
        self, info: Info, input: ResolveReportInput
    ) -> Result[ResolveReportSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)
        report_id = _report_uuid(input.report_id)

        async def run(work: UnitOfWork) -> ResolveReportSuccess:
            report = await resolution.resolve_report(
                work,
                viewer,
                identity=identity,
                report_id=report_id,
                action=input.action,
                note=input.note,
                meta=meta,
            )
            return ResolveReportSuccess(report=ContentReport.from_row(report))

        return await mutate(info, run)
