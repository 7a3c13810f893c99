"""Inputs of the bounty list and mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from schema.bounties import BountyStatus
from schema.idempotency import idempotency_key_field


@strawberry.enum(description="Orders of the bounty list; ties break on id.")
class BountySort(Enum):
    NEWEST = "NEWEST"
    REWARD = "REWARD"
    DEADLINE = "DEADLINE"
    DISTANCE = "DISTANCE"


@strawberry.enum
class DisputeOutcome(Enum):
    RELEASE_TO_HUNTER = "RELEASE_TO_HUNTER"
    REFUND_POSTER = "REFUND_POSTER"
    SPLIT = "SPLIT"


@strawberry.input(description="A point and a radius: bounties within it (great-circle distance).")
class NearInput:
    latitude: float
    longitude: float
    radius_km: float


@strawberry.input(description="All given conditions hold. Without `status`, OPEN bounties only.")
class BountyFilter:
    status: list[BountyStatus] | None = None
    category: str | None = None
    min_reward: int | None = strawberry.field(default=None, description="Minor units.")
    max_reward: int | None = strawberry.field(default=None, description="Minor units.")
    currency: str | None = None
    text: str | None = strawberry.field(
        default=None, description="Full-text search of title and description (web-search syntax)."
    )
    near: NearInput | None = None
    remote_only: bool = False
    poster_id: relay.GlobalID | None = None


@strawberry.input
class MoneyInput:
    amount: int = strawberry.field(description="Integer minor units (cents); never a float.")
    currency: str = strawberry.field(description="ISO 4217, e.g. USD.")


@strawberry.input
class LocationInput:
    latitude: float
    longitude: float
    place_name: str | None = None


@strawberry.input
class CreateBountyInput:
    title: str
    description: str
    category: str
    reward: MoneyInput
    location: LocationInput | None = None
    remote: bool = False
    deadline: datetime | None = None
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Only the fields sent change; null clears location or deadline.")
class UpdateBountyInput:
    bounty_id: relay.GlobalID
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    reward: MoneyInput | None = strawberry.UNSET
    location: LocationInput | None = strawberry.UNSET
    remote: bool | None = strawberry.UNSET
    deadline: datetime | None = strawberry.UNSET


@strawberry.input(description="Money moves: the same key and input returns the first result.")
class BountyPaymentInput:
    bounty_id: relay.GlobalID
    idempotency_key: str


@strawberry.input(
    description="Fund the reward and open the bounty; the same key and input returns "
    "the first result."
)
class PublishBountyInput:
    bounty_id: relay.GlobalID
    idempotency_key: str
    payment_method_id: str | None = strawberry.field(
        default=None,
        description="A saved payment method (pm_...) to pay with at once; without one the "
        "answer's PaymentSheet takes the payment in the app.",
    )


@strawberry.input
class CancelBountyInput:
    bounty_id: relay.GlobalID
    idempotency_key: str
    note: str | None = None


@strawberry.input
class ApplyToBountyInput:
    bounty_id: relay.GlobalID
    message: str
    proposed_amount: int | None = strawberry.field(
        default=None, description="Minor units of the bounty's currency."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input
class ApplicationInput:
    application_id: relay.GlobalID


@strawberry.input
class SubmitWorkInput:
    bounty_id: relay.GlobalID
    note: str
    attachments: list[str] = strawberry.field(
        default_factory=list, description="https:// links, at most 10."
    )


@strawberry.input
class BountyNoteInput:
    bounty_id: relay.GlobalID
    note: str


@strawberry.input(
    description="Freezes the held reward; the same key and input returns the first result."
)
class OpenDisputeInput:
    bounty_id: relay.GlobalID
    note: str
    idempotency_key: str


@strawberry.input
class ResolveDisputeInput:
    bounty_id: relay.GlobalID
    outcome: DisputeOutcome
    note: str
    idempotency_key: str
    split: DisputeSplitInput | None = strawberry.field(
        default=None, description="With outcome SPLIT (and only then): how the held funds part."
    )


@strawberry.input(
    description="How a SPLIT shares the held funds (minor units): the two amounts sum to exactly "
    "what the bounty holds. The hunter's part pays the platform fee recorded at funding."
)
class DisputeSplitInput:
    hunter_amount: int
    poster_amount: int


@strawberry.input
class ReviewUserInput:
    bounty_id: relay.GlobalID
    rating: int = strawberry.field(description="1 to 5.")
    text: str = ""
