"""Builds the identity services for one process: Redis-backed when REDIS_URL is set."""

from __future__ import annotations

import redis.asyncio as redis

from app.db.engine import SessionFactory
from app.settings import Settings
from services import passwords
from services.identity import Identity
from services.mail import mail_sender
from services.media import LocalMediaStorage
from services.revocation import PostgresDenylist, RedisDenylist, RedisWithPostgresDenylist
from services.throttle import InProcessThrottle, RedisThrottle


def build_identity(
    settings: Settings, session_factory: SessionFactory, redis_client: redis.Redis | None
) -> Identity:
    """`redis_client` is the process's one Redis client (the broker's): one pool, observed by
    monitoring, closed by its owner."""
    passwords.configure(settings.password_hash_threads, settings.password_hash_queue)
    mail = mail_sender(settings)
    media = LocalMediaStorage(settings.media_dir)
    if redis_client is None:
        return Identity(
            settings=settings,
            denylist=PostgresDenylist(session_factory),
            throttle=InProcessThrottle(),
            mail=mail,
            media=media,
        )
    return Identity(
        settings=settings,
        denylist=RedisWithPostgresDenylist(
            RedisDenylist(redis_client), PostgresDenylist(session_factory)
        ),
        throttle=RedisThrottle(redis_client),
        mail=mail,
        media=media,
    )
