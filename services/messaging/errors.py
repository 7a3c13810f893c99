"""Expected failures of messaging."""

from __future__ import annotations

from services.errors import DomainError


class AccountSuspended(DomainError):
    """Suspended (or deleted) accounts cannot start conversations or send messages."""

    code = "ACCOUNT_SUSPENDED"
