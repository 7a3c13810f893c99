"""Business events as services report them; app/monitoring/metrics.py counts them.

Services call these once a change has committed (`work.after_commit(...)`), never
prometheus-client itself: the counters, their names and their allowed events are defined in
one place, `app/monitoring/metrics.py`. An unknown event raises `ValueError`.
"""

from __future__ import annotations

from app.monitoring import metrics


def bounty_event(event: str) -> None:
    """`bountyexpo_bounties_total{event}`: created, published, accepted, completed, ..."""
    metrics.record_bounty_event(event)


def application_event(event: str) -> None:
    """`bountyexpo_bounty_applications_total{event}`: submitted, withdrawn, accepted, rejected."""
    metrics.record_application_event(event)


def review_written() -> None:
    metrics.record_review()


def signed_up() -> None:
    metrics.record_sign_up()


def payment(kind: str, status: str, currency: str, amount_minor: int) -> None:
    """`bountyexpo_payments_total` and, once succeeded, the amount (services/payments/)."""
    metrics.record_payment(kind, status, currency, amount_minor)
