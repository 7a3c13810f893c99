"""Expected failures of moderation."""

from __future__ import annotations

from services.errors import DomainError


class AlreadyReported(DomainError):
    code = "ALREADY_REPORTED"
