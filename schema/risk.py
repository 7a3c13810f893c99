"""Risk as staff see it: levels, and a user's latest score."""

from __future__ import annotations

import strawberry

from app.db.models import RiskLevel

strawberry.enum(RiskLevel, description="LOW < 25 <= MEDIUM < 50 <= HIGH < 75 <= CRITICAL (score).")

__all__ = ["RiskLevel"]
