"""`bountyexpo create-admin EMAIL`: the first admin, before anyone can grant the role."""

from __future__ import annotations

import getpass
import secrets
import sys

from app.db.database import open_database
from app.db.models import Role
from app.settings import Settings
from services import audit, password_policy
from services.accounts import create_user
from services.errors import DomainError


def read_admin_password(*, generate: bool) -> tuple[str, bool]:
    """(password, whether it was generated). Prompts twice on a terminal unless told to generate."""
    if generate or not sys.stdin.isatty():
        return secrets.token_urlsafe(18), True
    while True:
        password = getpass.getpass("password (empty: generate one): ")
        if not password:
            return secrets.token_urlsafe(18), True
        if len(password) < password_policy.MIN_LENGTH:
            print(f"use at least {password_policy.MIN_LENGTH} characters", file=sys.stderr)
        elif getpass.getpass("again: ") == password:
            return password, False
        else:
            print("the passwords differ", file=sys.stderr)


async def create_admin(
    settings: Settings, email: str, password: str, display_name: str
) -> str | None:
    """Create the account; the reason it could not be created, or None."""
    async with open_database(settings) as database:
        try:
            async with database.session_factory() as session, session.begin():
                user = await create_user(
                    session,
                    email=email,
                    password=password,
                    display_name=display_name,
                    role=Role.ADMIN,
                )
                audit.record(
                    session,
                    action=audit.ADMIN_CREATED,
                    meta=audit.RequestMeta(user_agent="bountyexpo create-admin"),
                    target_id=user.id,
                )
        except DomainError as error:
            return f"{error.message} ({error.code})"
    return None
