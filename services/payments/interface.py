"""The configured payments: which provider, and the platform fee in force.

`payments_for(settings)` is the one place that chooses: the Stripe provider when
`STRIPE_SECRET_KEY` is set, else the sandbox stand-in (one per process, so what a request
charged, the same process's jobs and tests see). Production refuses the sandbox unless
`ALLOW_SANDBOX_PAYMENTS` says otherwise (`app/settings.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from app.settings import Settings
from services.payments.provider import PaymentProvider
from services.payments.sandbox import SandboxPaymentProvider


@dataclass(frozen=True)
class Payments:
    provider: PaymentProvider
    fee_bps: int  # PLATFORM_FEE_BPS: recorded on a bounty when it is funded


@lru_cache(maxsize=1)
def _sandbox() -> SandboxPaymentProvider:
    return SandboxPaymentProvider()


@lru_cache(maxsize=8)
def _stripe(secret: str, api_base: str | None, publishable: str, timeout: float) -> PaymentProvider:
    from services.payments.stripe_provider import StripePaymentProvider

    return StripePaymentProvider(
        secret, publishable_key=publishable, api_base=api_base, timeout_seconds=timeout
    )


def provider_for(settings: Settings) -> PaymentProvider:
    if settings.stripe_secret_key is None:
        return _sandbox()
    return _stripe(
        settings.stripe_secret_key.get_secret_value(),
        settings.stripe_api_base,
        settings.stripe_publishable_key or "",
        settings.stripe_timeout_seconds,
    )


def payments_for(settings: Settings) -> Payments:
    return Payments(provider=provider_for(settings), fee_bps=settings.platform_fee_bps)
