"""Runtime settings: a typed registry of keys, values in PostgreSQL, read through a short cache.

Admins change a value with `update` (compare-and-set on its version, audited, every version
kept in `system_setting_versions`); code reads it with `current(session_factory)`, which
answers from a per-process cache that lives `CACHE_SECONDS` and is dropped on every change made
by this process (other processes see a change within `CACHE_SECONDS`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory
from app.db.models import SystemSetting, SystemSettingVersion
from app.db.models.base import utcnow
from services import audit
from services.audit import RequestMeta
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

CACHE_SECONDS = 5.0
SETTING_CHANGED = "admin.setting_changed"


class SettingType(StrEnum):
    INT = "INT"
    BOOLEAN = "BOOLEAN"
    STRING = "STRING"


@dataclass(frozen=True, slots=True)
class Spec:
    key: str
    type: SettingType
    default: Any
    description: str
    minimum: int | None = None
    maximum: int | None = None

    def check(self, value: Any) -> Any:
        """`value` if it has this setting's type and range; INVALID_INPUT otherwise."""
        if self.type is SettingType.BOOLEAN:
            if not isinstance(value, bool):
                raise InvalidInput(f"{self.key} takes true or false", field="input.value")
        elif self.type is SettingType.INT:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(f"{self.key} takes a whole number", field="input.value")
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise InvalidInput(
                    f"{self.key} takes {self.minimum} to {self.maximum}", field="input.value"
                )
        elif not isinstance(value, str) or len(value) > (self.maximum or 200):
            raise InvalidInput(f"{self.key} takes a short text", field="input.value")
        return value


PLATFORM_FEE_BPS = "payments.platform_fee_bps"
SPECS: dict[str, Spec] = {
    spec.key: spec
    for spec in (
        Spec(
            PLATFORM_FEE_BPS,
            SettingType.INT,
            1000,
            "The platform's fee on a released reward, in basis points (1000 = 10%).",
            minimum=0,
            maximum=5000,
        ),
        Spec(
            "bounties.max_open_per_user",
            SettingType.INT,
            50,
            "How many bounties one poster may have open at once.",
            minimum=1,
            maximum=10_000,
        ),
        Spec(
            "analytics.ingest_enabled",
            SettingType.BOOLEAN,
            True,
            "Whether trackEvents stores what the app sends (off: accepted and dropped).",
        ),
        Spec(
            "risk.auto_reassess_enabled",
            SettingType.BOOLEAN,
            True,
            "Whether the scheduled job re-assesses users whose signals changed.",
        ),
        Spec(
            "features.payouts_enabled",
            SettingType.BOOLEAN,
            True,
            "Whether hunters may withdraw their balance.",
        ),
        Spec(
            "moderation.notice",
            SettingType.STRING,
            "",
            "A notice shown to moderators above the review queue.",
            maximum=500,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class SettingValue:
    spec: Spec
    value: Any
    version: int  # 0: never changed, the default
    updated_at: datetime | None
    updated_by: uuid.UUID | None


class _Cache:
    def __init__(self) -> None:
        self.values: dict[str, SettingValue] | None = None
        self.loaded_at = 0.0

    def fresh(self) -> dict[str, SettingValue] | None:
        if self.values is not None and time.monotonic() - self.loaded_at < CACHE_SECONDS:
            return self.values
        return None

    def store(self, values: dict[str, SettingValue]) -> None:
        self.values, self.loaded_at = values, time.monotonic()

    def clear(self) -> None:
        self.values = None


cache = _Cache()
settings_table = SystemSetting.__table__  # type: ignore[attr-defined]
versions_table = SystemSettingVersion.__table__  # type: ignore[attr-defined]


def _previous_value(key: str, version: int) -> sa.ScalarSelect[Any]:
    """The value at `version`, read in the UPDATE's own snapshot (RETURNING gives new values)."""
    return (
        select(versions_table.c.value)
        .where(versions_table.c.key == key, versions_table.c.version == version)
        .scalar_subquery()
    )


async def _load(session: AsyncSession) -> dict[str, SettingValue]:
    rows = {row.key: row for row in await session.scalars(select(SystemSetting))}
    values = {}
    for key, spec in SPECS.items():
        row = rows.get(key)
        values[key] = (
            SettingValue(spec, row.value, row.version, row.updated_at, row.updated_by)
            if row is not None
            else SettingValue(spec, spec.default, 0, None, None)
        )
    return values


async def current(session_factory: SessionFactory) -> Mapping[str, SettingValue]:
    """Every setting, from the cache when it is fresh (one statement when it is not)."""
    values = cache.fresh()
    if values is None:
        async with session_factory() as session:
            values = await _load(session)
        cache.store(values)
    return values


async def current_in(session: AsyncSession) -> Mapping[str, SettingValue]:
    """`current`, read on a session the caller has open (inside its transaction)."""
    values = cache.fresh()
    if values is None:
        values = await _load(session)
        cache.store(values)
    return values


async def value_of(session_factory: SessionFactory, key: str) -> Any:
    return (await current(session_factory))[key].value


async def list_settings(session_factory: SessionFactory, viewer: Viewer) -> list[SettingValue]:
    """Admins: every setting with its current value and version, by key."""
    _require_admin(viewer)
    async with session_factory() as session:
        values = await _load(session)
    return [values[key] for key in sorted(values)]


async def versions(
    session_factory: SessionFactory, keys: list[str]
) -> list[list[SystemSettingVersion]]:
    """Batch: the version history of each key, newest first."""
    async with session_factory() as session:
        rows = await session.scalars(
            select(SystemSettingVersion)
            .where(versions_table.c.key.in_(keys))
            .order_by(versions_table.c.key, versions_table.c.version.desc())
        )
        found: dict[str, list[SystemSettingVersion]] = {}
        for row in rows:
            found.setdefault(row.key, []).append(row)
    return [found.get(key, []) for key in keys]


def _require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise NotAllowed("only admins manage system settings")


async def update_setting(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    key: str,
    value: Any,
    expected_version: int,
    meta: RequestMeta,
) -> SettingValue:
    """Set `key` to `value` if its version is still `expected_version` (CONFLICT otherwise)."""
    _require_admin(viewer)
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound(f"no setting {key!r}", field="input.key")
    value = spec.check(value)
    session = work.session
    now = utcnow()
    version = expected_version + 1
    if expected_version == 0:
        # First change from the default: the row must not exist yet.
        inserted = await session.execute(
            pg_insert(SystemSetting)
            .values(key=key, value=value, version=1, updated_at=now, updated_by=viewer.user_id)
            .on_conflict_do_nothing()
            .returning(sa.literal(1))
        )
        previous = spec.default
        changed = inserted.first() is not None
    else:
        # Compare-and-set: of two admins editing version N, exactly one wins.
        updated = await session.execute(
            sa.update(SystemSetting)
            .where(settings_table.c.key == key, settings_table.c.version == expected_version)
            .values(value=value, version=version, updated_at=now, updated_by=viewer.user_id)
            .returning(_previous_value(key, expected_version))
        )
        row = updated.first()
        previous = row[0] if row is not None else None
        changed = row is not None
    if not changed:
        raise Conflict(
            f"{key} changed since version {expected_version}: read it again",
            field="input.expectedVersion",
        )
    session.add(
        SystemSettingVersion(
            key=key,
            version=version,
            value=value,
            previous=previous,
            changed_at=now,
            changed_by=viewer.user_id,
        )
    )
    audit.record(
        session,
        action=SETTING_CHANGED,
        meta=meta,
        actor_id=viewer.user_id,
        key=key,
        version=version,
        previous=previous,
        value=value,
    )
    work.after_commit(cache.clear)
    return SettingValue(spec, value, version, now, viewer.user_id)
