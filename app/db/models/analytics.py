"""Analytics: events from the app and from domain actions (append-only), and their rollups."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, utcnow


class EventSource(StrEnum):
    CLIENT = "CLIENT"  # sent by the app through trackEvents
    SERVER = "SERVER"  # recorded by a domain action in its own transaction


class Granularity(StrEnum):
    HOUR = "HOUR"
    DAY = "DAY"


class AnalyticsEvent(SQLModel, table=True):
    """Append-only (a trigger refuses UPDATE and DELETE). Buckets use `received_at`, the
    server's clock: a past window never gains events, so a rollup re-run gives the same rows."""

    __tablename__ = "analytics_events"
    __table_args__ = (
        # Time-ordered appends: a BRIN index is tiny and finds an hour's pages.
        sa.Index("ix_analytics_events_received_brin", "received_at", postgresql_using="brin"),
        sa.Index("ix_analytics_events_name_id", "name", "id"),
        sa.Index("ix_analytics_events_user_id", "user_id", "id"),
        # The dashboard's active posters and hunters: the server-side events of a date range,
        # read from the index alone (the app's events, the bulk, are not in it).
        sa.Index(
            "ix_analytics_events_server_name_received",
            "name",
            "received_at",
            postgresql_include=["user_id"],
            postgresql_where=sa.text("source = 'SERVER'"),
        ),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    source: EventSource = Field(
        default=EventSource.CLIENT,
        sa_column=enum_column(EventSource, "event_source", EventSource.CLIENT, length=8),
    )
    # No foreign key: accounts are anonymised, never deleted, and appends stay cheap.
    user_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    properties: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    client_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    received_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class AnalyticsRollup(SQLModel, table=True):
    """One metric over one bucket; `dimension` splits a metric (GMV by currency), '' otherwise."""

    __tablename__ = "analytics_rollups"

    metric: str = Field(sa_column=sa.Column(sa.String(48), primary_key=True))
    granularity: Granularity = Field(
        sa_column=sa.Column(
            sa.Enum(
                Granularity, native_enum=False, create_constraint=True, length=8, name="granularity"
            ),
            primary_key=True,
        )
    )
    bucket_start: datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), primary_key=True)
    )
    dimension: str = Field(
        default="", sa_column=sa.Column(sa.String(24), primary_key=True, server_default="")
    )
    value: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
