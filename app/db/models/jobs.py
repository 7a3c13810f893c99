"""Background work: the queue tables belong to PgQueuer; worker liveness is ours."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, utcnow

# Installed by migration 0003 from PgQueuer's own DDL; never mapped, only queried in services.
QUEUE_TABLES = ("pgqueuer", "pgqueuer_log", "pgqueuer_statistics", "pgqueuer_schedules")


class WorkerHeartbeat(SQLModel, table=True):
    """One row per running worker, refreshed every few seconds and removed on a clean stop."""

    __tablename__ = "worker_heartbeats"

    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    hostname: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    pid: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    # Comma-separated job domains the worker serves; empty means all.
    queues: str = Field(sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    concurrency: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    started_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
