"""Expected failures of the marketplace, each with a stable code."""

from __future__ import annotations

from services.errors import DomainError
from services.errors import IdempotencyKeyReused as IdempotencyKeyReused  # moved there; re-exported


def with_article(word: str) -> str:
    """`an OPEN`, `a DRAFT`: status names read as English in messages."""
    return f"{'an' if word[:1].upper() in 'AEIOU' else 'a'} {word}"


class InvalidTransition(DomainError):
    """The bounty (or application) is not in a state this action starts from."""

    code = "INVALID_TRANSITION"

    def __init__(self, message: str, *, current: str | None, target: str) -> None:
        super().__init__(message, field="status")
        self.current = current
        self.target = target


class AlreadyApplied(DomainError):
    code = "ALREADY_APPLIED"


class OwnBounty(DomainError):
    code = "OWN_BOUNTY"


class SuspendedAccount(DomainError):
    """Suspended accounts cannot post or apply (nothing was written)."""

    code = "ACCOUNT_SUSPENDED"


class TooManyImages(DomainError):
    code = "TOO_MANY_IMAGES"


class AlreadyReviewed(DomainError):
    code = "ALREADY_REVIEWED"


class PaymentFailed(DomainError):
    code = "PAYMENT_FAILED"
