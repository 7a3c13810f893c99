"""What identity services need besides the session: configured once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.settings import Settings
from services.mail import MailSender
from services.media import MediaStorage
from services.revocation import Denylist
from services.throttle import Throttle


@dataclass(frozen=True)
class Identity:
    settings: Settings
    denylist: Denylist
    throttle: Throttle
    mail: MailSender
    media: MediaStorage

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.access_token_ttl_seconds)
