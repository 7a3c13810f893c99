"""Expected failures of sign-up, sign-in, sessions, passwords and profiles.

`keeps_changes` marks failures whose writes must still commit: the audit row of a failed sign-in,
the family revoked on refresh-token reuse. The resolver commits those and then reports the error.
"""

from __future__ import annotations

from services.errors import DomainError


class EmailTaken(DomainError):
    code = "EMAIL_TAKEN"


class WeakPassword(DomainError):
    code = "WEAK_PASSWORD"


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    keeps_changes = True


class AccountSuspended(DomainError):
    code = "ACCOUNT_SUSPENDED"
    keeps_changes = True


class InvalidRefreshToken(DomainError):
    code = "INVALID_REFRESH_TOKEN"
    keeps_changes = True


class InvalidResetToken(DomainError):
    code = "INVALID_RESET_TOKEN"


class InvalidImage(DomainError):
    """An upload that is not an acceptable image; `code` says which rule it broke."""

    code = "UNSUPPORTED_IMAGE"


class ImageTooLarge(InvalidImage):
    code = "IMAGE_TOO_LARGE"


class ImageDimensionsTooLarge(InvalidImage):
    code = "IMAGE_DIMENSIONS_TOO_LARGE"


class TooManyAttempts(DomainError):
    """Sign-in throttled; the GraphQL layer reports RATE_LIMITED with `retryAfter`."""

    code = "RATE_LIMITED"
    keeps_changes = True

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-in attempts; retry in {retry_after} s")
        self.retry_after = retry_after
