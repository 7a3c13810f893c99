"""A notification by mail: plain text and HTML, to the account's address."""

from __future__ import annotations

import html
import uuid

from sqlalchemy import select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import Notification, User, UserStatus
from app.monitoring.metrics import record_notification
from services.mail import Mail, MailSender


def render(display_name: str, title: str, body: str) -> Mail:
    text = f"Hello {display_name},\n\n{body}\n\nOpen BountyExpo to see more.\n"
    markup = (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<p>Hello {html.escape(display_name)},</p><h2>{html.escape(title)}</h2>"
        f"<p>{html.escape(body)}</p><p>Open BountyExpo to see more.</p></body></html>"
    )
    return Mail(to="", subject=title, body=text, html=markup)


async def send_notification_mail(
    session_factory: SessionFactory, sender: MailSender, notification_id: uuid.UUID
) -> bool:
    """Mail one notification; False when there is no one to mail (account gone or suspended)."""
    async with session_factory() as session:
        row = (
            await session.execute(
                select(
                    col(User.email),
                    col(User.display_name),
                    col(User.status),
                    col(Notification.title),
                    col(Notification.body),
                )
                .join(User, col(User.id) == col(Notification.user_id))
                .where(col(Notification.id) == notification_id)
            )
        ).one_or_none()
    if row is None or row[2] is not UserStatus.ACTIVE:
        record_notification("email", "no_address")
        return False
    email, name, _, title, body = row
    mail = render(name, title, body)
    try:
        await sender.send(Mail(to=email, subject=mail.subject, body=mail.body, html=mail.html))
    except Exception:
        record_notification("email", "failed")
        raise
    record_notification("email", "sent")
    return True
