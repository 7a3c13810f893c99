"""The error model: expected failures are data (UserError members of result unions).

Every mutation returns `<Verb><Noun>Result = <Success> | <SpecificError> ...`; each error member
implements `UserError`. Codes are stable and UPPER_SNAKE; clients switch on `code`, not `message`.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeAlias, TypeVar

import strawberry

from services.errors import DomainError


@strawberry.enum(description="Stable codes of expected failures; clients branch on these.")
class ErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    NOT_ALLOWED = "NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    # Identity and access
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_SUSPENDED = "ACCOUNT_SUSPENDED"
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"  # noqa: S105
    INVALID_RESET_TOKEN = "INVALID_RESET_TOKEN"  # noqa: S105
    UNSUPPORTED_IMAGE = "UNSUPPORTED_IMAGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    IMAGE_DIMENSIONS_TOO_LARGE = "IMAGE_DIMENSIONS_TOO_LARGE"
    # Marketplace
    INVALID_TRANSITION = "INVALID_TRANSITION"
    ALREADY_APPLIED = "ALREADY_APPLIED"
    OWN_BOUNTY = "OWN_BOUNTY"
    TOO_MANY_IMAGES = "TOO_MANY_IMAGES"
    ALREADY_REVIEWED = "ALREADY_REVIEWED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    # Moderation
    ALREADY_REPORTED = "ALREADY_REPORTED"
    # Risk
    PAYMENTS_RESTRICTED = "PAYMENTS_RESTRICTED"
    PAYOUTS_RESTRICTED = "PAYOUTS_RESTRICTED"
    CATEGORY_PROHIBITED = "CATEGORY_PROHIBITED"
    CATEGORY_REVIEW_PENDING = "CATEGORY_REVIEW_PENDING"
    # Payouts
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    PAYOUT_BELOW_MINIMUM = "PAYOUT_BELOW_MINIMUM"
    PAYOUT_ACCOUNT_NOT_READY = "PAYOUT_ACCOUNT_NOT_READY"


@strawberry.interface(description="An expected failure of a mutation, returned as data.")
class UserError:
    code: ErrorCode
    message: str
    field: str | None = strawberry.field(
        default=None, description="The input field at fault, as a path like `input.title`."
    )


@strawberry.type
class NotFoundError(UserError):
    pass


@strawberry.type
class InvalidInputError(UserError):
    pass


@strawberry.type
class NotAllowedError(UserError):
    pass


@strawberry.type
class ConflictError(UserError):
    pass


# Identity and access


@strawberry.type(description="Another account already uses this email address.")
class EmailTakenError(UserError):
    pass


@strawberry.type(description="The password breaks the password policy; `message` says which rule.")
class WeakPasswordError(UserError):
    pass


@strawberry.type(description="Wrong email or password (which one is never said).")
class InvalidCredentialsError(UserError):
    pass


@strawberry.type(description="The account is suspended; it cannot sign in.")
class AccountSuspendedError(UserError):
    pass


@strawberry.type(description="Unknown, expired, revoked or reused refresh token: sign in again.")
class InvalidRefreshTokenError(UserError):
    pass


@strawberry.type(description="Unknown, expired or already used password-reset token.")
class InvalidResetTokenError(UserError):
    pass


@strawberry.type(
    description="Not an acceptable image: UNSUPPORTED_IMAGE (not PNG, JPEG or WebP), "
    "IMAGE_TOO_LARGE (over 5 MB) or IMAGE_DIMENSIONS_TOO_LARGE (over 4096x4096)."
)
class InvalidImageError(UserError):
    pass


# Marketplace


@strawberry.type(
    description="The bounty (or application) is not in a state this action starts from; "
    "`currentStatus` says where it is now, `attemptedStatus` where the action leads."
)
class InvalidTransitionError(UserError):
    current_status: str | None = None
    attempted_status: str | None = None

    @classmethod
    def from_domain(cls, error: DomainError) -> InvalidTransitionError:
        return cls(
            code=ErrorCode.INVALID_TRANSITION,
            message=error.message,
            field=error.field,
            current_status=getattr(error, "current", None),
            attempted_status=getattr(error, "target", None),
        )


@strawberry.type(description="You already have a pending or accepted application here.")
class AlreadyAppliedError(UserError):
    pass


@strawberry.type(description="Posters cannot apply to their own bounties.")
class OwnBountyError(UserError):
    pass


@strawberry.type(description="A bounty has at most 8 images.")
class TooManyImagesError(UserError):
    pass


@strawberry.type(description="Each side reviews a completed bounty once.")
class AlreadyReviewedError(UserError):
    pass


@strawberry.type(description="This idempotency key was used with a different request.")
class IdempotencyKeyReusedError(UserError):
    pass


@strawberry.type(description="The payments provider refused the money movement; nothing changed.")
class PaymentFailedError(UserError):
    pass


@strawberry.type(description="You already have an open report on this content.")
class AlreadyReportedError(UserError):
    pass


@strawberry.type(
    description="A risk review restricted payments (funding, release) on this account."
)
class PaymentsRestrictedError(UserError):
    pass


@strawberry.type(description="A risk review restricted payouts on this account.")
class PayoutsRestrictedError(UserError):
    pass


@strawberry.type(description="The category is prohibited on BountyExpo.")
class CategoryProhibitedError(UserError):
    pass


@strawberry.type(
    description="The category is restricted: a moderator reviews the bounty before it is "
    "published. Publish again once it is approved."
)
class CategoryReviewPendingError(UserError):
    pass


# Payouts


@strawberry.type(description="Your wallet holds less than the payout asked for; nothing moved.")
class InsufficientFundsError(UserError):
    pass


@strawberry.type(description="The payout is below the minimum (PAYOUT_MINIMUM_MINOR).")
class PayoutBelowMinimumError(UserError):
    pass


@strawberry.type(
    description="No payout account with payouts enabled: finish onboarding with "
    "`payoutAccountLink` (see `payoutAccount.requirementsDue`)."
)
class PayoutAccountNotReadyError(UserError):
    pass


Success = TypeVar("Success")
# What a mutation's resolver returns: its success payload, or the UserError member of a domain
# failure. The field's GraphQL type, `graphql_type=<Verb><Noun>Result`, says which errors it
# lists; strawberry refuses a member the union does not list (a bug, answered as internal error).
Result: TypeAlias = Success | UserError


_ERROR_TYPES: dict[str, type[UserError]] = {
    "NOT_FOUND": NotFoundError,
    "INVALID_INPUT": InvalidInputError,
    "NOT_ALLOWED": NotAllowedError,
    "CONFLICT": ConflictError,
    "EMAIL_TAKEN": EmailTakenError,
    "WEAK_PASSWORD": WeakPasswordError,
    "INVALID_CREDENTIALS": InvalidCredentialsError,
    "ACCOUNT_SUSPENDED": AccountSuspendedError,
    "INVALID_REFRESH_TOKEN": InvalidRefreshTokenError,
    "INVALID_RESET_TOKEN": InvalidResetTokenError,
    "UNSUPPORTED_IMAGE": InvalidImageError,
    "IMAGE_TOO_LARGE": InvalidImageError,
    "IMAGE_DIMENSIONS_TOO_LARGE": InvalidImageError,
    "INVALID_TRANSITION": InvalidTransitionError,
    "ALREADY_APPLIED": AlreadyAppliedError,
    "OWN_BOUNTY": OwnBountyError,
    "TOO_MANY_IMAGES": TooManyImagesError,
    "ALREADY_REVIEWED": AlreadyReviewedError,
    "IDEMPOTENCY_KEY_REUSED": IdempotencyKeyReusedError,
    "PAYMENT_FAILED": PaymentFailedError,
    "ALREADY_REPORTED": AlreadyReportedError,
    "PAYMENTS_RESTRICTED": PaymentsRestrictedError,
    "PAYOUTS_RESTRICTED": PayoutsRestrictedError,
    "CATEGORY_PROHIBITED": CategoryProhibitedError,
    "CATEGORY_REVIEW_PENDING": CategoryReviewPendingError,
    "INSUFFICIENT_FUNDS": InsufficientFundsError,
    "PAYOUT_BELOW_MINIMUM": PayoutBelowMinimumError,
    "PAYOUT_ACCOUNT_NOT_READY": PayoutAccountNotReadyError,
}

# Types a union may not reference yet still belong in the schema, so clients can rely on them.
ERROR_TYPES: tuple[type[UserError], ...] = tuple(dict.fromkeys(_ERROR_TYPES.values()))


def user_error(error: DomainError) -> UserError:
    """The union member for a domain failure. Domains register their own codes here as they land."""
    error_type = _ERROR_TYPES.get(error.code)
    if error_type is None:
        raise KeyError(f"no UserError type for domain error code {error.code!r}") from error
    from_domain = getattr(error_type, "from_domain", None)
    if from_domain is not None:  # error types with fields of their own
        member: UserError = from_domain(error)
        return member
    return error_type(code=ErrorCode(error.code), message=error.message, field=error.field)


class ApiError(Exception):
    """A request-level failure, reported in `errors` with `extensions.code` (Apollo's vocabulary).

    For authentication, authorization, limits and malformed input: things a client fixes by
    changing the request, not by showing the user a message.
    """

    def __init__(self, message: str, code: str, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extensions = extensions


UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
BAD_USER_INPUT = "BAD_USER_INPUT"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
RATE_LIMITED = "RATE_LIMITED"
