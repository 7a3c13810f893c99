"""A fresh database for a profile: migrated, with the demo data, the load accounts (one per
virtual user, one password hash shared) and five notifications each (two unread), and the
admins the admin scenario signs in as."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from app.db.database import open_database
from app.db.models import Notification, NotificationSettings, NotificationType, Role, User
from app.db.models.base import utcnow
from app.settings import Settings
from bench.load.scenarios import (
    ACCOUNTS,
    ADMIN_ACCOUNTS,
    LOAD_PASSWORD,
    account_email,
    admin_email,
)
from services.demo_bounties import seed_demo_bounties
from services.passwords import hash_password
from services.payments import payments_for
from services.seed import seed_demo_data
from tests import databases

NOTIFICATIONS_PER_ACCOUNT = 5
UNREAD_PER_ACCOUNT = 2


async def fresh_database(server_url: str, name: str) -> str:
    """Drop `name` and clone it from the migrated template; its URL."""
    template = await databases.ensure_template(server_url)
    await databases.drop_database(server_url, name)
    await databases.run_admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return databases.with_database(server_url, name)


async def fill(url: str) -> None:
    settings = Settings(_env_file=None, database_url=url, log_level="warning")
    async with open_database(settings, url) as database:
        async with database.session_factory() as session, session.begin():
            await seed_demo_data(session)
        await seed_demo_bounties(database.session_factory, payments_for(settings))
        password_hash = hash_password(LOAD_PASSWORD)
        ids = [uuid.uuid4() for _ in range(ACCOUNTS)]
        users = [
            {
                "id": user_id,
                "email": account_email(index),
                "password_hash": password_hash,
                "display_name": f"Load {index}",
                "role": Role.USER,
            }
            for index, user_id in enumerate(ids)
        ]
        users += [
            {
                "id": uuid.uuid4(),
                "email": admin_email(index),
                "password_hash": password_hash,
                "display_name": f"Load admin {index}",
                "role": Role.ADMIN,
            }
            for index in range(ADMIN_ACCOUNTS)
        ]
        read_at = utcnow()
        settings_rows = [
            {"user_id": user_id, "last_seq": NOTIFICATIONS_PER_ACCOUNT} for user_id in ids
        ]
        notifications: list[dict[str, Any]] = [
            {
                "user_id": user_id,
                "seq": seq,
                "type": NotificationType.APPLICATION_RECEIVED,
                "title": "New application",
                "body": f"Someone applied to your bounty ({seq})",
                "data": {},
                "dedupe_key": f"load:{user_id}:{seq}",
                "read_at": None
                if seq > NOTIFICATIONS_PER_ACCOUNT - UNREAD_PER_ACCOUNT
                else read_at,
            }
            for user_id in ids
            for seq in range(1, NOTIFICATIONS_PER_ACCOUNT + 1)
        ]
        async with database.session_factory() as session, session.begin():
            await session.execute(insert(User), users)
            await session.execute(insert(NotificationSettings), settings_rows)
            await session.execute(insert(Notification), notifications)
