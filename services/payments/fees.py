"""The platform fee in force: the `payments.platform_fee_bps` system setting (admins change it
with `updateSystemSetting`; read through the settings' short cache), or `PLATFORM_FEE_BPS` while
nobody has set it. Recorded on a bounty when it is funded, so a later change never alters what
an already funded bounty pays."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory
from services import system_settings
from services.payments.interface import Payments


def _in_force(setting: system_settings.SettingValue, configured_bps: int) -> int:
    if setting.version == 0:  # never set: the deployment's PLATFORM_FEE_BPS
        return configured_bps
    return int(setting.value)


async def platform_fee_bps(session: AsyncSession, payments: Payments) -> int:
    settings = await system_settings.current_in(session)
    return _in_force(settings[system_settings.PLATFORM_FEE_BPS], payments.fee_bps)


async def platform_fee_bps_now(session_factory: SessionFactory, configured_bps: int) -> int:
    """The fee in force outside a transaction (`/health/detailed`): from the settings' short
    cache, so at most one statement per `system_settings.CACHE_SECONDS` per process."""
    settings = await system_settings.current(session_factory)
    return _in_force(settings[system_settings.PLATFORM_FEE_BPS], configured_bps)
