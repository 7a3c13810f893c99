"""Money as integer minor units with an ISO 4217 currency: never floats."""

from __future__ import annotations

from dataclasses import dataclass

BPS = 10_000  # basis points in a whole


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def fee(self, bps: int) -> Money:
        """`bps` basis points of this amount, rounded down (the payee keeps the odd unit)."""
        return Money(self.amount * bps // BPS, self.currency)

    def __sub__(self, other: Money) -> Money:
        assert other.currency == self.currency, "amounts in different currencies"
        return Money(self.amount - other.amount, self.currency)
