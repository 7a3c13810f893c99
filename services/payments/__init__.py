"""Payments: a double-entry ledger, the bounty money flow, and the payment providers.

money       Money (integer minor units + ISO currency) and fee arithmetic
ledger      accounts, balanced immutable postings, balances and the reads dashboards use
held_funds  a bounty's money in the ledger: funding, release with the fee, refund
interface   the interface the marketplace calls (fund, release, refund, freeze), metered
instant     the ledger-only implementation: money moves at once, no provider involved
"""

from services.payments.interface import (
    MeteredPayments,
    PaymentResult,
    Payments,
    PaymentStatus,
    payments_for,
)
from services.payments.money import Money

__all__ = [
    "MeteredPayments",
    "Money",
    "PaymentResult",
    "PaymentStatus",
    "Payments",
    "payments_for",
]
