"""Persisted GraphQL operations: Automatic Persisted Queries and the trusted-documents list."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, utcnow


class PersistedOperation(SQLModel, table=True):
    """A document by the SHA-256 of its text. `trusted` rows come from `bountyexpo operations
    register` (the app's own documents); the others were sent by clients (APQ) and may expire."""

    __tablename__ = "persisted_operations"

    sha256: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    trusted: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    last_used_at: datetime = Field(
        default_factory=utcnow,
        sa_column=sa.Column(
            sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
