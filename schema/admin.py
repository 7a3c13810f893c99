"""Admin types: users with their risk and history, audit events, system settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.db.models import AuditEvent as AuditEventRow
from app.db.models import RiskLevel, Role, UserStatus
from app.db.models import SystemSettingVersion as VersionRow
from schema.bounties import Bounty, Money
from schema.context import Info
from schema.errors import (
    UNAUTHENTICATED,
    ApiError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from schema.risk import RiskLevel as _RiskLevel  # noqa: F401  (registers the enum)
from schema.users import User
from services import system_settings
from services.admin import dashboard, history
from services.admin.users import AdminUserCard
from services.system_settings import SettingType
from services.viewer import Viewer

strawberry.enum(SettingType, name="SystemSettingType", description="The type of a setting's value.")

HISTORY_DEFAULT = 20


@strawberry.type(description="One audit row: who did what to whom, from where.")
class AuditEvent:
    id: strawberry.ID
    at: datetime
    action: str = strawberry.field(description='Dotted, as "user.status_changed".')
    actor_id: strawberry.ID | None = strawberry.field(description="The acting User's id.")
    target_id: strawberry.ID | None = strawberry.field(
        description="The User acted on, when it is a user."
    )
    ip: str | None
    trace_id: str | None
    detail: JSON
    actor_uuid: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The acting user; null for the system or a deleted account.")
    async def actor(self, info: Info) -> User | None:
        if self.actor_uuid is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.actor_uuid)
        return User.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: AuditEventRow) -> Self:
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            action=row.action,
            actor_id=_user_id(row.actor_id),
            target_id=_user_id(row.target_id),
            ip=row.ip,
            trace_id=row.trace_id,
            detail=cast(JSON, row.detail),
            actor_uuid=row.actor_id,
        )


def _user_id(value: uuid.UUID | None) -> strawberry.ID | None:
    return strawberry.ID(relay.to_base64("User", str(value))) if value is not None else None


@strawberry.input(description="Audit rows matching every field given.")
class AuditEventFilter:
    actions: list[str] | None = strawberry.field(
        default=None, description='Exact actions, or prefixes ending in "." such as "auth.".'
    )
    actor_id: relay.GlobalID | None = None
    target_id: relay.GlobalID | None = None
    since: datetime | None = None
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.type(description="A user's latest risk assessment, in short.")
class RiskSummary:
    score: int = strawberry.field(description="0 (no risk) to 100.")
    level: RiskLevel
    assessed_at: datetime


@strawberry.type(description="A user as admins see them: the account and its latest risk.")
class AdminUser:
    id: strawberry.ID
    user: User
    status: UserStatus
    role: Role
    email: str
    risk: RiskSummary | None = strawberry.field(description="Null before the first assessment.")
    card: strawberry.Private[AdminUserCard]

    @classmethod
    def from_card(cls, card: AdminUserCard) -> Self:
        person = card.person
        return cls(
            id=strawberry.ID(relay.to_base64("User", str(person.id))),
            user=User.from_row(person, reveal_removed=True),
            status=person.status,
            role=person.role,
            email=person.email,
            risk=RiskSummary(
                score=card.risk_score, level=card.risk_level, assessed_at=card.assessed_at
            )
            if card.risk_score is not None
            and card.risk_level is not None
            and card.assessed_at is not None
            else None,
            card=card,
        )


@strawberry.type(description="One user with their history: audit events, bounties and risk.")
class AdminUserDetail(AdminUser):
    @strawberry.field(description="What they did and what was done to them, newest first.")
    async def audit_events(self, info: Info, first: int = HISTORY_DEFAULT) -> list[AuditEvent]:
        rows = await history.user_audit_events(
            info.context.session_factory, _viewer(info), user_id=self.card.person.id, limit=first
        )
        return [AuditEvent.from_row(row) for row in rows]

    @strawberry.field(description="Bounties they posted or were assigned, newest first.")
    async def bounties(self, info: Info, first: int = HISTORY_DEFAULT) -> list[Bounty]:
        cards = await history.user_bounties(
            info.context.session_factory, _viewer(info), user_id=self.card.person.id, limit=first
        )
        return [Bounty.from_card(card) for card in cards]


def _viewer(info: Info) -> Viewer:
    viewer = info.context.viewer
    if viewer is None:  # the root fields are admins only; this is defence in depth
        raise ApiError("sign in first", UNAUTHENTICATED)
    return viewer


@strawberry.type(description="One value of a runtime setting, as it was at `version`.")
class SystemSettingVersion:
    version: int
    value: JSON
    previous: JSON | None
    changed_at: datetime
    changed_by_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: VersionRow) -> Self:
        return cls(
            version=row.version,
            value=cast(JSON, row.value),
            previous=cast(JSON, row.previous),
            changed_at=row.changed_at,
            changed_by_id=_user_id(row.changed_by),
        )


@strawberry.type(description="A runtime setting: typed, audited and versioned.")
class SystemSetting:
    key: str
    type: SettingType
    description: str
    value: JSON
    default_value: JSON
    minimum: int | None
    maximum: int | None
    version: int = strawberry.field(description="0 while it still has its default.")
    updated_at: datetime | None
    updated_by_id: strawberry.ID | None

    @strawberry.field(description="Every change, newest first.")
    async def history(self, info: Info) -> list[SystemSettingVersion]:
        rows = await info.context.loaders.setting_versions_by_key.load(self.key)
        return [SystemSettingVersion.from_row(row) for row in rows]

    @classmethod
    def from_value(cls, setting: system_settings.SettingValue) -> Self:
        spec = setting.spec
        value: Any = setting.value
        return cls(
            key=spec.key,
            type=spec.type,
            description=spec.description,
            value=cast(JSON, value),
            default_value=cast(JSON, spec.default),
            minimum=spec.minimum,
            maximum=spec.maximum,
            version=setting.version,
            updated_at=setting.updated_at,
            updated_by_id=_user_id(setting.updated_by),
        )


@strawberry.input
class UpdateSystemSettingInput:
    key: str
    value: JSON = strawberry.field(description="Of the setting's type: a number, boolean or text.")
    expected_version: int = strawberry.field(
        description="The `version` you read; CONFLICT when someone changed it since."
    )


@strawberry.type(description="The setting's new value; every process sees it within seconds.")
class UpdateSystemSettingSuccess:
    setting: SystemSetting


UpdateSystemSettingResult = Annotated[
    UpdateSystemSettingSuccess | NotFoundError | InvalidInputError | ConflictError,
    strawberry.union("UpdateSystemSettingResult"),
]


@strawberry.type(description="How many bounties entered a status in the range.")
class StatusCount:
    status: str = strawberry.field(description='A BountyStatus, or "CREATED".')
    count: int


@strawberry.type(
    description="The marketplace over whole UTC days [from, to): from the daily rollups and "
    "the ledger's balances, never a scan of bounties or entries."
)
class AdminDashboard:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    users_total: int = strawberry.field(
        description="Accounts not deleted at the end of the last rolled-up day of the range."
    )
    new_users: int = strawberry.field(description="Sign-ups in the range.")
    active_posters: int = strawberry.field(
        description="Users who created, funded or approved a bounty in the range."
    )
    active_hunters: int = strawberry.field(description="Users who submitted work in the range.")
    bounties_by_status: list[StatusCount]
    gmv: list[Money] = strawberry.field(description="Rewards of bounties completed in the range.")
    held_funds: list[Money] = strawberry.field(description="Rewards held for bounties now.")
    platform_revenue: list[Money] = strawberry.field(description="Fees earned in the range.")
    payouts: list[Money] = strawberry.field(description="Payouts paid in the range.")
    dispute_rate: float | None = strawberry.field(
        description="Bounties disputed / bounties accepted in the range; null without any."
    )

    @classmethod
    def from_dashboard(cls, found: dashboard.Dashboard) -> Self:
        def money(by_currency: dict[str, int]) -> list[Money]:
            return [Money(amount=v, currency=c) for c, v in sorted(by_currency.items())]

        return cls(
            from_=found.since,
            to=found.until,
            users_total=found.users_total,
            new_users=found.new_users,
            active_posters=found.active_posters,
            active_hunters=found.active_hunters,
            bounties_by_status=[
                StatusCount(status=s, count=n) for s, n in sorted(found.bounties_by_status.items())
            ],
            gmv=money(found.gmv),
            held_funds=money(found.held_funds),
            platform_revenue=money(found.platform_revenue),
            payouts=money(found.payouts),
            dispute_rate=found.dispute_rate,
        )
