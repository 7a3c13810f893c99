"""The platform fee in force: the `payments.platform_fee_bps` system setting (admins change it
with `updateSystemSetting`; read through the settings' short cache), or `PLATFORM_FEE_BPS` while
nobody has set it. Recorded on a bounty when it is funded, so a later change never alters what
an already funded bounty pays."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services import system_settings
from services.payments.interface import Payments


async def platform_fee_bps(session: AsyncSession, payments: Payments) -> int:
    setting = (await system_settings.current_in(session))[system_settings.PLATFORM_FEE_BPS]
    if setting.version == 0:  # never set: the deployment's PLATFORM_FEE_BPS
        return payments.fee_bps
    return int(setting.value)
