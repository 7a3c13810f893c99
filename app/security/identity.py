"""Builds the identity services for one process: Redis-backed when REDIS_URL is set."""

from __future__ import annotations

import redis.asyncio as redis

from app.db.engine import SessionFactory
from app.settings import Settings
from services import passwords
from services.identity import Identity
from services.mail import mail_sender
from services.media import LocalMediaStorage
from services.revocation import PostgresDenylist
from services.revocation_cache import RevocationCache
from services.revocation_feed import RedisRevocationFeed
from services.throttle import InProcessThrottle, RedisThrottle, Throttle


def build_identity(
    settings: Settings, session_factory: SessionFactory, redis_client: redis.Redis | None
) -> Identity:
    """`redis_client` is the process's one Redis client (the broker's): one pool, observed by
    monitoring, closed by its owner. The caller starts and closes `identity.denylist`."""
    passwords.configure(settings.password_hash_threads, settings.password_hash_queue)
    throttle: Throttle = (
        InProcessThrottle() if redis_client is None else RedisThrottle(redis_client)
    )
    denylist = RevocationCache(
        PostgresDenylist(session_factory),
        None if redis_client is None else RedisRevocationFeed(redis_client),
        resync_seconds=settings.revocation_resync_seconds,
        staleness_seconds=settings.revocation_staleness_seconds,
    )
    return Identity(
        settings=settings,
        denylist=denylist,
        throttle=throttle,
        mail=mail_sender(settings),
        media=LocalMediaStorage(settings.media_dir),
    )
