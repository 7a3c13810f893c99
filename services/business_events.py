"""Business counters (`bountyexpo_business_<thing>_total`), counted once a change has committed.

Plain functions so the observability work can export them as they are.
"""

from __future__ import annotations

from prometheus_client import Counter

BOUNTIES = Counter(
    "bountyexpo_business_bounties_total",
    "Bounty lifecycle events: created, published, accepted, completed, cancelled, expired, "
    "disputed.",
    ["event"],
)
APPLICATIONS = Counter(
    "bountyexpo_business_applications_total",
    "Applications by event: submitted, withdrawn, accepted, rejected.",
    ["event"],
)
REVIEWS = Counter("bountyexpo_business_reviews_total", "Reviews written.")

BOUNTY_EVENTS = (
    "created",
    "published",
    "accepted",
    "completed",
    "cancelled",
    "expired",
    "disputed",
)
APPLICATION_EVENTS = ("submitted", "withdrawn", "accepted", "rejected")


def bounty_event(event: str) -> None:
    if event not in BOUNTY_EVENTS:
        raise ValueError(f"unknown bounty event {event!r}")
    BOUNTIES.labels(event).inc()


def application_event(event: str) -> None:
    if event not in APPLICATION_EVENTS:
        raise ValueError(f"unknown application event {event!r}")
    APPLICATIONS.labels(event).inc()


def review_written() -> None:
    REVIEWS.inc()
