"""The signals behind a risk score: what each measures, its weight, and how it scores.

Every signal gives 0 up to its weight in points; the score is their sum, capped at 100.
Weights (README, "Risk signals and actions"): account age 5, failed payments 20, disputes 25,
refunds 10, cancellations 10, reports 15, velocity 10, shared card or device 25.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import RiskLevel


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    value: float  # what was measured (a count, a ratio, days)
    weight: int  # the most points it can give
    points: int  # what it gave

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "weight": self.weight,
            "points": self.points,
        }


# One statement: every count the signals need for one user.
_FACTS = text("""
SELECT
  (SELECT extract(epoch FROM now() - created_at) / 86400 FROM users WHERE id = :uid) AS age_days,
  (SELECT count(*) FROM payment_operations WHERE user_id = :uid AND kind = 'CHARGE') AS charges,
  (SELECT count(*) FROM payment_operations
     WHERE user_id = :uid AND kind = 'CHARGE' AND status = 'FAILED') AS failed,
  (SELECT count(*) FROM payment_operations WHERE user_id = :uid AND kind = 'REFUND') AS refunds,
  (SELECT count(DISTINCT h.bounty_id)
     FROM bounty_history AS h JOIN bounties AS b ON b.id = h.bounty_id
     WHERE h.to_status = 'DISPUTED' AND (b.poster_id = :uid OR b.hunter_id = :uid)) AS disputes,
  (SELECT count(*) FROM bounties WHERE poster_id = :uid) AS posted,
  (SELECT count(*) FROM bounties WHERE poster_id = :uid AND status = 'CANCELLED') AS cancelled,
  (SELECT count(*) FROM content_reports WHERE author_id = :uid AND status = 'RESOLVED') AS upheld,
  (SELECT count(*) FROM content_reports WHERE author_id = :uid AND status = 'OPEN') AS open_reports,
  (SELECT count(*) FROM bounties WHERE poster_id = :uid AND created_at > now() - interval '1 day')
    + (SELECT count(*) FROM payment_operations
         WHERE user_id = :uid AND created_at > now() - interval '1 day') AS velocity,
  (SELECT count(DISTINCT other.user_id)
     FROM bounties AS b
     JOIN risk_fingerprints AS mine ON mine.user_id = :uid
     JOIN risk_fingerprints AS other
       ON other.kind = mine.kind AND other.value_hash = mine.value_hash
      AND other.user_id = CASE WHEN b.poster_id = :uid THEN b.hunter_id ELSE b.poster_id END
     WHERE (b.poster_id = :uid OR b.hunter_id = :uid) AND b.hunter_id IS NOT NULL
  ) + (SELECT count(DISTINCT other.user_id)
     FROM bounties AS b
     JOIN push_tokens AS mine ON mine.user_id = :uid
     JOIN push_tokens AS other
       ON other.device_id = mine.device_id
      AND other.user_id = CASE WHEN b.poster_id = :uid THEN b.hunter_id ELSE b.poster_id END
     WHERE (b.poster_id = :uid OR b.hunter_id = :uid) AND b.hunter_id IS NOT NULL
  ) AS shared
""")


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def score_signals(facts: Any) -> list[Signal]:
    age = float(facts.age_days or 0)
    failed_ratio = _ratio(facts.failed, facts.charges)
    refund_ratio = _ratio(facts.refunds, facts.charges - facts.failed)
    cancel_ratio = _ratio(facts.cancelled, facts.posted)
    reports = facts.upheld + facts.open_reports
    return [
        Signal("ACCOUNT_AGE_DAYS", round(age, 2), 5, 5 if age < 7 else 0),
        # Two failures at least: one declined card is ordinary.
        Signal("FAILED_PAYMENT_RATIO", failed_ratio, 20,
               round(20 * failed_ratio) if facts.failed >= 2 else 0),
        Signal("DISPUTES", facts.disputes, 25, min(25, 15 * facts.disputes)),
        Signal("REFUND_RATIO", refund_ratio, 10, round(10 * refund_ratio)),
        Signal("CANCELLATION_RATIO", cancel_ratio, 10,
               round(10 * cancel_ratio) if facts.posted >= 3 else 0),
        Signal("REPORTS", reports, 15, min(15, 10 * facts.upheld + 3 * facts.open_reports)),
        Signal("VELOCITY_24H", facts.velocity, 10, min(10, max(0, facts.velocity - 10))),
        Signal("SHARED_FINGERPRINT", facts.shared, 25, 25 if facts.shared else 0),
    ]  # fmt: skip


def level_of(score: int) -> RiskLevel:
    if score >= 75:
        return RiskLevel.CRITICAL
    if score >= 50:
        return RiskLevel.HIGH
    if score >= 25:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


async def signals_of(session: AsyncSession, user_id: uuid.UUID) -> list[Signal]:
    facts = (await session.execute(_FACTS, {"uid": user_id})).one()
    return score_signals(facts)
