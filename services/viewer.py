"""Who is asking: the authenticated principal every service call receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.db.models import Role


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: uuid.UUID
    role: Role
    # The access token this viewer presented (sign-out revokes it and its session).
    token_id: str | None = None
    session_id: str | None = None
    token_expires_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.MODERATOR)

    def owns(self, user_id: uuid.UUID) -> bool:
        return self.user_id == user_id
