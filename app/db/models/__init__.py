"""SQLModel tables, one module per domain. Importing this package registers every table."""

from app.db.models.base import metadata
from app.db.models.bounties import (
    Application,
    ApplicationStatus,
    Bounty,
    BountyCategory,
    BountyHistory,
    BountyImage,
    BountyStatus,
    Review,
    Submission,
)
from app.db.models.identity import AuditEvent, PasswordResetToken, RefreshToken, RevokedToken
from app.db.models.jobs import QUEUE_TABLES, WorkerHeartbeat
from app.db.models.messaging import (
    Conversation,
    ConversationKind,
    ConversationParticipant,
    Message,
)
from app.db.models.notifications import (
    Channel,
    Notification,
    NotificationPreference,
    NotificationSettings,
    NotificationType,
    Platform,
    PushDelivery,
    PushStatus,
    PushToken,
)
from app.db.models.operations import PersistedOperation
from app.db.models.payments import IdempotencyKey, PaymentCall
from app.db.models.users import Role, User, UserStatus

__all__ = [
    "QUEUE_TABLES",
    "Application",
    "ApplicationStatus",
    "AuditEvent",
    "Bounty",
    "BountyCategory",
    "BountyHistory",
    "BountyImage",
    "BountyStatus",
    "Channel",
    "Conversation",
    "ConversationKind",
    "ConversationParticipant",
    "IdempotencyKey",
    "Message",
    "Notification",
    "NotificationPreference",
    "NotificationSettings",
    "NotificationType",
    "PasswordResetToken",
    "PaymentCall",
    "PersistedOperation",
    "Platform",
    "PushDelivery",
    "PushStatus",
    "PushToken",
    "RefreshToken",
    "Review",
    "RevokedToken",
    "Role",
    "Submission",
    "User",
    "UserStatus",
    "WorkerHeartbeat",
    "metadata",
]
