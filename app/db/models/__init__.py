"""SQLModel tables, one module per domain. Importing this package registers every table."""

from app.db.models.admin import SystemSetting, SystemSettingVersion
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
from app.db.models.moderation import (
    ContentReport,
    ModerationAction,
    ReportReason,
    ReportStatus,
    ReportTarget,
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
from app.db.models.payments import (
    AccountKind,
    IdempotencyKey,
    LedgerAccount,
    LedgerEntry,
    LedgerPosting,
    OperationKind,
    OperationStatus,
    PaymentCustomer,
    PaymentOperation,
    PostingKind,
    WebhookEvent,
)
from app.db.models.risk import RiskAssessment, RiskLevel
from app.db.models.users import Role, User, UserStatus

__all__ = [
    "QUEUE_TABLES",
    "AccountKind",
    "Application",
    "ApplicationStatus",
    "AuditEvent",
    "Bounty",
    "BountyCategory",
    "BountyHistory",
    "BountyImage",
    "BountyStatus",
    "Channel",
    "ContentReport",
    "Conversation",
    "ConversationKind",
    "ConversationParticipant",
    "IdempotencyKey",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerPosting",
    "Message",
    "ModerationAction",
    "Notification",
    "NotificationPreference",
    "NotificationSettings",
    "NotificationType",
    "OperationKind",
    "OperationStatus",
    "PasswordResetToken",
    "PaymentCustomer",
    "PaymentOperation",
    "PersistedOperation",
    "Platform",
    "PostingKind",
    "PushDelivery",
    "PushStatus",
    "PushToken",
    "RefreshToken",
    "ReportReason",
    "ReportStatus",
    "ReportTarget",
    "Review",
    "RevokedToken",
    "RiskAssessment",
    "RiskLevel",
    "Role",
    "Submission",
    "SystemSetting",
    "SystemSettingVersion",
    "User",
    "UserStatus",
    "WebhookEvent",
    "WorkerHeartbeat",
    "metadata",
]
