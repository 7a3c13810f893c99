"""Input rules shared by account services: emails and display names."""

from __future__ import annotations

import re

from services.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_DISPLAY_NAME = 80


def normalise_email(email: str, *, field: str = "input.email") -> str:
    """Emails compare case-insensitively: stored and looked up trimmed and lower-cased."""
    normalised = email.strip().lower()
    if len(normalised) > 254 or not _EMAIL.match(normalised):
        raise InvalidInput("not an email address", field=field)
    return normalised


def check_display_name(name: str, *, field: str = "input.displayName") -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_DISPLAY_NAME:
        raise InvalidInput(f"use 1 to {MAX_DISPLAY_NAME} characters", field=field)
    return name
