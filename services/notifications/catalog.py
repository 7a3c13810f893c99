"""Notification types: default channels, and how a domain event reads to its recipient."""

from __future__ import annotations

from app.db.models import Channel, NotificationType

T = NotificationType
# In-app and push for every type; email only where it matters after the fact (money, outcomes).
EMAIL_BY_DEFAULT = frozenset(
    {
        T.APPLICATION_ACCEPTED,
        T.BOUNTY_COMPLETED,
        T.PAYMENT_RELEASED,
        T.PAYMENT_REFUNDED,
        T.PAYOUT_PAID,
        T.PAYOUT_FAILED,
        T.DISPUTE_OPENED,
        T.DISPUTE_RESOLVED,
    }
)

TITLES: dict[NotificationType, str] = {
    T.APPLICATION_RECEIVED: "New application",
    T.APPLICATION_ACCEPTED: "Your application was accepted",
    T.APPLICATION_REJECTED: "Your application was not chosen",
    T.WORK_SUBMITTED: "Work submitted",
    T.CHANGES_REQUESTED: "Changes requested",
    T.BOUNTY_COMPLETED: "Bounty completed",
    T.BOUNTY_CANCELLED: "Bounty cancelled",
    T.BOUNTY_EXPIRED: "Bounty expired",
    T.PAYMENT_RELEASED: "Payment released",
    T.PAYMENT_REFUNDED: "Payment refunded",
    T.PAYOUT_PAID: "Payout sent",
    T.PAYOUT_FAILED: "Payout failed",
    T.PAYMENT_FAILED: "Payment failed",
    T.DISPUTE_OPENED: "Dispute opened",
    T.DISPUTE_RESOLVED: "Dispute resolved",
    T.NEW_MESSAGE: "New message",
    T.REPORT_RESOLVED: "Your report was reviewed",
    T.CONTENT_REMOVED: "Your content was removed",
    T.ACCOUNT_WARNING: "A warning from the moderators",
}


def default_enabled(type_: NotificationType, channel: Channel) -> bool:
    if channel is Channel.EMAIL:
        return type_ in EMAIL_BY_DEFAULT
    return True


def body_for(type_: NotificationType, subject: str) -> str:
    """The text under the title; `subject` is what it is about (a bounty's title, ...)."""
    return {
        T.APPLICATION_RECEIVED: f"Someone applied to “{subject}”.",
        T.APPLICATION_ACCEPTED: f"You got “{subject}”: get to work!",
        T.APPLICATION_REJECTED: f"Another hunter was chosen for “{subject}”.",
        T.WORK_SUBMITTED: f"The hunter submitted work for “{subject}”.",
        T.CHANGES_REQUESTED: f"The poster asked for changes on “{subject}”.",
        T.BOUNTY_COMPLETED: f"“{subject}” is complete.",
        T.BOUNTY_CANCELLED: f"“{subject}” was cancelled.",
        T.BOUNTY_EXPIRED: f"“{subject}” expired without a hunter.",
        T.PAYMENT_RELEASED: f"The reward of “{subject}” was released.",
        T.PAYMENT_REFUNDED: f"The reward of “{subject}” was refunded.",
        T.PAYOUT_PAID: f"Your payout for “{subject}” is on its way.",
        T.PAYOUT_FAILED: f"Your payout for “{subject}” failed: check your payout details.",
        T.PAYMENT_FAILED: f"The payment for “{subject}” did not go through: it is back in your "
        "drafts, publish it again to retry.",
        T.DISPUTE_OPENED: f"A dispute was opened on “{subject}”.",
        T.DISPUTE_RESOLVED: f"The dispute on “{subject}” was resolved.",
        T.NEW_MESSAGE: subject,
        T.REPORT_RESOLVED: f"Thank you: the moderators reviewed your report ({subject}).",
        T.CONTENT_REMOVED: f"A moderator removed your {subject} for breaking the rules.",
        T.ACCOUNT_WARNING: f"A moderator warned you about your {subject}: please follow the rules.",
    }[type_]
