"""Admin root fields: find users, read one with its history, the audit log, system settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from app.db.models import RiskLevel, Role, UserStatus
from app.security.permissions import IsAdmin
from resolvers.lists import bad_input, connection
from resolvers.mutations import mutate, request_meta, require_viewer, user_uuid
from schema.admin import (
    AdminDashboard,
    AdminUser,
    AdminUserDetail,
    AuditEvent,
    AuditEventFilter,
    SystemSetting,
    UpdateSystemSettingInput,
    UpdateSystemSettingResult,
    UpdateSystemSettingSuccess,
)
from schema.context import Info
from schema.errors import Result
from schema.pagination import Connection
from services import system_settings
from services.admin import audit_log, dashboard, users
from services.errors import InvalidInput
from services.unit_of_work import UnitOfWork


def _optional_user(global_id: relay.GlobalID | None, field: str) -> uuid.UUID | None:
    return user_uuid(global_id, field=field) if global_id is not None else None


@strawberry.type
class AdminQueries:
    @strawberry.field(
        description="Users by text (email or name), role, status and risk level; newest first. "
        "Admins only.",
        permission_classes=[IsAdmin],
    )
    async def admin_users(
        self,
        info: Info,
        search: str | None = None,
        role: Role | None = None,
        status: UserStatus | None = None,
        risk_level: RiskLevel | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AdminUser]:
        where = users.UserFilter(search=search, role=role, status=status, risk_level=risk_level)
        return await connection(
            info, users.admin_users, AdminUser.from_card, where=where, first=first, after=after
        )

    @strawberry.field(
        description="One user with their history; null for an unknown id. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def admin_user(self, info: Info, id: relay.GlobalID) -> AdminUserDetail | None:
        user_id = user_uuid(id, field="id")
        card = await users.admin_user(
            info.context.session_factory, require_viewer(info), user_id=user_id
        )
        return AdminUserDetail.from_card(card) if card is not None else None

    @strawberry.field(
        description="The audit log, newest first, filtered. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        given = filter or AuditEventFilter()
        where = audit_log.AuditFilter(
            actions=tuple(given.actions or ()),
            actor_id=_optional_user(given.actor_id, "filter.actorId"),
            target_id=_optional_user(given.target_id, "filter.targetId"),
            since=given.since,
            until=given.until,
        )
        return await connection(
            info,
            audit_log.audit_events,
            AuditEvent.from_row,
            counted=False,
            where=where,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Users, bounties, money and disputes over whole UTC days [from, to), from "
        "the rollups and the ledger. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def admin_dashboard(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> AdminDashboard:
        try:
            found = await dashboard.dashboard(
                info.context.reads, require_viewer(info), since=from_, until=to
            )
        except InvalidInput as error:
            raise bad_input(error) from error
        return AdminDashboard.from_dashboard(found)

    @strawberry.field(
        description="Every runtime setting with its value, type and version. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def system_settings(self, info: Info) -> list[SystemSetting]:
        values = await system_settings.list_settings(
            info.context.session_factory, require_viewer(info)
        )
        return [SystemSetting.from_value(value) for value in values]


@strawberry.type
class AdminMutations:
    @strawberry.mutation(
        description="Change a runtime setting (compare-and-set on `expectedVersion`; audited, "
        "versioned). Admins only.",
        permission_classes=[IsAdmin],
        graphql_type=UpdateSystemSettingResult,
    )
    async def update_system_setting(
        self, info: Info, input: UpdateSystemSettingInput
    ) -> Result[UpdateSystemSettingSuccess]:
        viewer, meta = require_viewer(info), request_meta(info)
        value: Any = input.value

        async def run(work: UnitOfWork) -> UpdateSystemSettingSuccess:
            setting = await system_settings.update_setting(
                work,
                viewer,
                key=input.key,
                value=value,
                expected_version=input.expected_version,
                meta=meta,
            )
            return UpdateSystemSettingSuccess(setting=SystemSetting.from_value(setting))

        return await mutate(info, run)
