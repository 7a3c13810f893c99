"""Demo data for development: a few recognisable accounts. Running it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Role, User
from services.passwords import hash_password

DEMO_PASSWORD = "bountyexpo-demo-2026"  # noqa: S105  (documented demo credential, development only)


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    role: Role = Role.USER


DEMO_USERS = (
    DemoUser("poster@demo.bountyexpo.dev", "Priya Poster"),
    DemoUser("hunter@demo.bountyexpo.dev", "Hugo Hunter"),
    DemoUser("carla@demo.bountyexpo.dev", "Carla Builder"),
    DemoUser("moderator@demo.bountyexpo.dev", "Mona Moderator", Role.MODERATOR),
    DemoUser("admin@demo.bountyexpo.dev", "Ada Admin", Role.ADMIN),
)


async def seed_demo_data(session: AsyncSession) -> int:
    """Insert the demo accounts that are missing; return how many were added."""
    emails = [user.email for user in DEMO_USERS]
    existing = set(
        await session.scalars(
            select(func.lower(User.email)).where(func.lower(User.email).in_(emails))
        )
    )
    missing = [user for user in DEMO_USERS if user.email not in existing]
    if not missing:
        return 0
    password_hash = hash_password(DEMO_PASSWORD)
    statement = (
        insert(User)
        .values(
            [
                {
                    "email": user.email,
                    "password_hash": password_hash,
                    "display_name": user.display_name,
                    "role": user.role,
                }
                for user in missing
            ]
        )
        # A concurrent seed may have won the race: its rows are as good as ours.
        .on_conflict_do_nothing(index_elements=[text("lower(email)")])
        .returning(col(User.id))
    )
    return len((await session.execute(statement)).all())
