"""Outgoing mail behind one interface: SMTP (`SmtpMailSender`) or the log (`LogMailSender`).

Every mail has a plain-text part and, when given, an HTML alternative. The log sender is a
stand-in for development and tests: it keeps the last messages in `outbox` (tests read it) and,
outside production, logs the body too, so a developer can follow a password-reset link from the
console. Production refuses to start on it unless ALLOW_LOG_ONLY_MAIL is set.
"""

from __future__ import annotations

import html
import logging
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib

logger = logging.getLogger("bountyexpo.mail")


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str  # plain text
    html: str | None = None


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None: ...


def html_of(text: str) -> str:
    """A minimal HTML rendering of a plain-text body (escaped, paragraphs kept)."""
    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>" for block in text.split("\n\n")
    )
    return f'<!doctype html><html><body style="font-family:sans-serif">{paragraphs}</body></html>'


class LogMailSender:
    """Stand-in: writes mail to the log instead of sending it (development default)."""

    def __init__(self, *, sender: str, show_body: bool) -> None:
        self.sender = sender
        self.show_body = show_body
        self.outbox: deque[Mail] = deque(maxlen=100)

    async def send(self, mail: Mail) -> None:
        self.outbox.append(mail)
        if self.show_body:
            logger.info("mail from %s to %s: %s\n%s", self.sender, mail.to, mail.subject, mail.body)
        else:
            logger.info("mail to %s: %s (body withheld; configure SMTP)", mail.to, mail.subject)


class SmtpMailSender:
    """Mail over SMTP (aiosmtplib): one connection per mail, STARTTLS or TLS, optional login."""

    def __init__(
        self,
        *,
        sender: str,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        security: str = "starttls",
        timeout: float = 10.0,
    ) -> None:
        self.sender = sender
        self.options: dict[str, Any] = {
            "hostname": host,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "timeout": timeout,
        }

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        message.add_alternative(mail.html or html_of(mail.body), subtype="html")
        await aiosmtplib.send(message, **self.options)


def mail_sender(settings: Any) -> MailSender:
    """SMTP when configured; otherwise the log stand-in (refused in production unless allowed)."""
    if settings.mail_is_log_only:
        return LogMailSender(sender=settings.mail_from, show_body=not settings.is_production)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpMailSender(
        sender=settings.mail_from,
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        security=settings.smtp_security,
        timeout=settings.smtp_timeout_seconds,
    )
