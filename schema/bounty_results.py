"""Payloads and result unions of the bounty mutations (`<Verb><Noun>Result`)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.bounties import Bounty, BountyApplication, BountyImage
from schema.errors import (
    AccountSuspendedError,
    AlreadyAppliedError,
    AlreadyReviewedError,
    CategoryProhibitedError,
    CategoryReviewPendingError,
    IdempotencyKeyReusedError,
    InvalidImageError,
    InvalidInputError,
    InvalidTransitionError,
    NotAllowedError,
    NotFoundError,
    OwnBountyError,
    PaymentFailedError,
    PaymentsRestrictedError,
    TooManyImagesError,
)
from schema.payments import PaymentSheet
from schema.reviews import Review


@strawberry.type(description="The bounty as it is after the change.")
class BountySuccess:
    bounty: Bounty


@strawberry.type(description="The bounty, and the payment that funds it.")
class PublishBountySuccess:
    bounty: Bounty
    payment: PaymentSheet


@strawberry.type
class BountyImageSuccess:
    bounty: Bounty
    image: BountyImage | None


@strawberry.type
class ApplicationSuccess:
    application: BountyApplication
    bounty: Bounty


@strawberry.type
class ReviewUserSuccess:
    review: Review


_PAYMENT = (
    BountySuccess
    | InvalidInputError
    | NotFoundError
    | NotAllowedError
    | InvalidTransitionError
    | IdempotencyKeyReusedError
    | PaymentFailedError
    | PaymentsRestrictedError
    | CategoryProhibitedError
    | CategoryReviewPendingError
)
_ACTION = (
    BountySuccess
    | InvalidInputError
    | NotFoundError
    | NotAllowedError
    | InvalidTransitionError
    | CategoryProhibitedError
)
_IMAGE = (
    BountyImageSuccess
    | InvalidImageError
    | TooManyImagesError
    | NotFoundError
    | NotAllowedError
    | InvalidTransitionError
)
_APPLICATION = ApplicationSuccess | NotFoundError | NotAllowedError | InvalidTransitionError

CreateBountyResult = Annotated[
    BountySuccess
    | InvalidInputError
    | AccountSuspendedError
    | IdempotencyKeyReusedError
    | CategoryProhibitedError,
    strawberry.union("CreateBountyResult"),
]
UpdateBountyResult = Annotated[_ACTION, strawberry.union("UpdateBountyResult")]
AddBountyImageResult = Annotated[_IMAGE, strawberry.union("AddBountyImageResult")]
RemoveBountyImageResult = Annotated[_IMAGE, strawberry.union("RemoveBountyImageResult")]
# Money moves, under an idempotency key.
PublishBountyResult = Annotated[
    PublishBountySuccess
    | InvalidInputError
    | NotFoundError
    | NotAllowedError
    | InvalidTransitionError
    | IdempotencyKeyReusedError
    | PaymentFailedError
    | PaymentsRestrictedError
    | CategoryProhibitedError
    | CategoryReviewPendingError,
    strawberry.union("PublishBountyResult"),
]
CancelBountyResult = Annotated[_PAYMENT, strawberry.union("CancelBountyResult")]
ApproveCompletionResult = Annotated[_PAYMENT, strawberry.union("ApproveCompletionResult")]
ResolveDisputeResult = Annotated[_PAYMENT, strawberry.union("ResolveDisputeResult")]
SubmitWorkResult = Annotated[_ACTION, strawberry.union("SubmitWorkResult")]
RequestChangesResult = Annotated[_ACTION, strawberry.union("RequestChangesResult")]
OpenDisputeResult = Annotated[
    _ACTION | IdempotencyKeyReusedError, strawberry.union("OpenDisputeResult")
]
ApplyToBountyResult = Annotated[
    ApplicationSuccess
    | InvalidInputError
    | NotFoundError
    | InvalidTransitionError
    | AlreadyAppliedError
    | OwnBountyError
    | AccountSuspendedError
    | IdempotencyKeyReusedError,
    strawberry.union("ApplyToBountyResult"),
]
WithdrawApplicationResult = Annotated[_APPLICATION, strawberry.union("WithdrawApplicationResult")]
AcceptApplicationResult = Annotated[_APPLICATION, strawberry.union("AcceptApplicationResult")]
RejectApplicationResult = Annotated[_APPLICATION, strawberry.union("RejectApplicationResult")]
ReviewUserResult = Annotated[
    ReviewUserSuccess
    | InvalidInputError
    | NotFoundError
    | NotAllowedError
    | InvalidTransitionError
    | AlreadyReviewedError,
    strawberry.union("ReviewUserResult"),
]
