"""The marketplace: bounties, their images, applications, lifecycle history and reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, updated_at_column, utcnow


class BountyStatus(StrEnum):
    DRAFT = "DRAFT"
    FUNDING_PENDING = "FUNDING_PENDING"
    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    SUBMITTED = "SUBMITTED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    DISPUTED = "DISPUTED"


class ApplicationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


# Weighted full-text document: title matches rank above description matches.
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')"
)


class BountyCategory(SQLModel, table=True):
    """The managed list of categories; a bounty names one by slug."""

    __tablename__ = "bounty_categories"
    # Reference data seeded by the migration: tests keep it between tests.
    __table_args__ = {"info": {"reference_data": True}}

    slug: str = Field(sa_column=sa.Column(sa.String(40), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(80), nullable=False))
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )


class Bounty(SQLModel, table=True):
    __tablename__ = "bounties"
    __table_args__ = (
        sa.CheckConstraint("reward_amount > 0", name="reward_positive"),
        sa.CheckConstraint("reward_currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        sa.CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="location_complete"),
        # The list's default order (newest first, within a status) and its keyset.
        sa.Index(
            "ix_bounties_status_created", "status", sa.text("created_at DESC"), sa.text("id DESC")
        ),
        sa.Index(
            "ix_bounties_status_reward", "status", sa.text("reward_amount DESC"), sa.text("id DESC")
        ),
        sa.Index("ix_bounties_status_deadline", "status", "deadline", "id"),
        sa.Index("ix_bounties_search", "search", postgresql_using="gin"),
        sa.Index("ix_bounties_location", "latitude", "longitude"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    poster_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False, index=True)
    )
    hunter_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), index=True)
    )
    title: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    category: str = Field(
        sa_column=sa.Column(sa.String(40), sa.ForeignKey("bounty_categories.slug"), nullable=False)
    )
    reward_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    reward_currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    latitude: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    longitude: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    place_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(120)))
    remote: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    deadline: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    status: BountyStatus = Field(
        default=BountyStatus.DRAFT,
        sa_column=enum_column(BountyStatus, "bounty_status", BountyStatus.DRAFT, length=24),
    )
    search: str | None = Field(
        default=None,
        sa_column=sa.Column(postgresql.TSVECTOR, sa.Computed(SEARCH_DOCUMENT, persisted=True)),
    )
    published_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    # PLATFORM_FEE_BPS when the reward was funded: the release takes this fee, whatever the
    # setting is by then.
    platform_fee_bps: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    # Why the last funding attempt failed (the bounty went back to DRAFT); cleared on publish.
    funding_failure: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=updated_at_column())
    # Set when a moderator removes it: hidden from everyone but staff and its author.
    removed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )


class BountyImage(SQLModel, table=True):
    __tablename__ = "bounty_images"

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    bounty_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("bounties.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    key: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    position: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    width: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    height: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class Application(SQLModel, table=True):
    __tablename__ = "applications"
    __table_args__ = (
        # One active (pending or accepted) application per hunter and bounty.
        sa.Index(
            "uq_applications_active",
            "bounty_id",
            "hunter_id",
            unique=True,
            postgresql_where=sa.text("status IN ('PENDING', 'ACCEPTED')"),
        ),
        sa.Index("ix_applications_hunter_created", "hunter_id", sa.text("created_at DESC"), "id"),
        sa.CheckConstraint(
            "proposed_amount IS NULL OR proposed_amount > 0", name="amount_positive"
        ),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    bounty_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("bounties.id"), nullable=False, index=True)
    )
    hunter_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False)
    )
    message: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    proposed_amount: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    status: ApplicationStatus = Field(
        default=ApplicationStatus.PENDING,
        sa_column=enum_column(ApplicationStatus, "application_status", ApplicationStatus.PENDING),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=updated_at_column())


class BountyHistory(SQLModel, table=True):
    """One row per lifecycle transition: who, when, from, to, and an optional note."""

    __tablename__ = "bounty_history"

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    bounty_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("bounties.id"), nullable=False, index=True)
    )
    actor_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))  # None: system
    from_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(24)))
    to_status: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.String(2000)))
    at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class Submission(SQLModel, table=True):
    __tablename__ = "bounty_submissions"

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    bounty_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("bounties.id"), nullable=False, index=True)
    )
    hunter_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False)
    )
    note: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    attachments: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(
            sa.ARRAY(sa.String(500)), nullable=False, server_default=sa.text("'{}'")
        ),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        sa.UniqueConstraint("bounty_id", "author_id", name="uq_reviews_bounty_author"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        sa.Index("ix_reviews_subject_created", "subject_id", sa.text("created_at DESC"), "id"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    bounty_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("bounties.id"), nullable=False)
    )
    author_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False)
    )
    subject_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False)
    )
    rating: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    text: str = Field(sa_column=sa.Column(sa.String(2000), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    # Set when a moderator removes it: hidden from everyone but staff and its author.
    removed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
