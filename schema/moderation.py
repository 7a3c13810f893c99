"""Moderation types: reports, the review queue, and resolving a report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay

from app.db.models import ContentReport as ReportRow
from app.db.models import ModerationAction, ReportReason, ReportStatus, ReportTarget
from schema.context import Info
from schema.errors import (
    AlreadyReportedError,
    ConflictError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)
from schema.users import User

strawberry.enum(ReportTarget, description="What kind of content a report is about.")
strawberry.enum(ReportReason, description="Why the content breaks the rules.")
strawberry.enum(ReportStatus, description="OPEN until staff resolve or dismiss it.")
strawberry.enum(
    ModerationAction,
    description="DISMISS closes the report; the others act on the content or its author and "
    "close every open report of the same content.",
)

# The global-id type of each kind of content.
TARGET_TYPES = {
    ReportTarget.BOUNTY: "Bounty",
    ReportTarget.MESSAGE: "Message",
    ReportTarget.PROFILE: "User",
    ReportTarget.REVIEW: "Review",
}


def report_gid(report_id: object) -> strawberry.ID:
    return strawberry.ID(relay.to_base64("ContentReport", str(report_id)))


@strawberry.type(description="A user's report of content, and what staff decided.")
class ContentReport:
    id: strawberry.ID
    target_type: ReportTarget
    target_id: strawberry.ID = strawberry.field(description="The content's global id.")
    reason: ReportReason
    note: str | None
    status: ReportStatus
    action: ModerationAction | None
    resolution_note: str | None
    created_at: datetime
    resolved_at: datetime | None
    row: strawberry.Private[ReportRow]

    @strawberry.field(description="The author of the reported content.")
    async def author(self, info: Info) -> User | None:
        row = await info.context.loaders.user_by_id.load(self.row.author_id)
        return User.from_row(row, reveal_removed=True) if row is not None else None

    @strawberry.field(description="Who reported it. Staff only; null for the reporter.")
    async def reporter(self, info: Info) -> User | None:
        viewer = info.context.viewer
        if viewer is None or not viewer.is_staff or self.row.reporter_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.row.reporter_id)
        return User.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: ReportRow) -> Self:
        return cls(
            id=report_gid(row.id),
            target_type=row.target_type,
            target_id=strawberry.ID(
                relay.to_base64(TARGET_TYPES[row.target_type], str(row.target_id))
            ),
            reason=row.reason,
            note=row.note,
            status=row.status,
            action=row.action,
            resolution_note=row.resolution_note,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            row=row,
        )


@strawberry.input
class ReportContentInput:
    target_type: ReportTarget
    target_id: relay.GlobalID = strawberry.field(
        description="The global id of the bounty, message, user (profile) or review."
    )
    reason: ReportReason
    note: str | None = strawberry.field(default=None, description="At most 1,000 characters.")


@strawberry.type(description="The report is in the moderators' queue.")
class ReportContentSuccess:
    report: ContentReport


ReportContentResult = Annotated[
    ReportContentSuccess
    | NotFoundError
    | NotAllowedError
    | InvalidInputError
    | AlreadyReportedError,
    strawberry.union("ReportContentResult"),
]


@strawberry.input
class ResolveReportInput:
    report_id: relay.GlobalID
    action: ModerationAction
    note: str | None = strawberry.field(default=None, description="At most 1,000 characters.")


@strawberry.type(description="The report is closed; the reporter is notified.")
class ResolveReportSuccess:
    report: ContentReport


ResolveReportResult = Annotated[
    ResolveReportSuccess | NotFoundError | NotAllowedError | InvalidInputError | ConflictError,
    strawberry.union("ResolveReportResult"),
]
