"""SQLModel tables, one module per domain. Importing this package registers every table."""

from app.db.models.base import metadata
from app.db.models.identity import AuditEvent, PasswordResetToken, RefreshToken, RevokedToken
from app.db.models.jobs import QUEUE_TABLES, WorkerHeartbeat
from app.db.models.operations import PersistedOperation
from app.db.models.users import Role, User, UserStatus

__all__ = [
    "QUEUE_TABLES",
    "AuditEvent",
    "PasswordResetToken",
    "PersistedOperation",
    "RefreshToken",
    "RevokedToken",
    "Role",
    "User",
    "UserStatus",
    "WorkerHeartbeat",
    "metadata",
]
