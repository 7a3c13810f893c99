"""Outgoing mail behind one interface. Until SMTP delivery lands, messages go to the log.

The log sender keeps the last messages in `outbox` (tests read it) and, outside production,
logs the body too, so a developer can follow a password-reset link from the console.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("bountyexpo.mail")


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None: ...


class LogMailSender:
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
