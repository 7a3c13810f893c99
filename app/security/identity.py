"""Builds the identity services for one process: Redis-backed when REDIS_URL is set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.broker import redis_client
from app.db.engine import SessionFactory
from app.settings import Settings
from services.identity import Identity
from services.mail import LogMailSender
from services.media import LocalMediaStorage
from services.revocation import PostgresDenylist, RedisDenylist, RedisWithPostgresDenylist
from services.throttle import InProcessThrottle, RedisThrottle


@asynccontextmanager
async def open_identity(
    settings: Settings, session_factory: SessionFactory
) -> AsyncIterator[Identity]:
    mail = LogMailSender(sender=settings.mail_from, show_body=not settings.is_production)
    media = LocalMediaStorage(settings.media_dir)
    if not settings.redis_url:
        yield Identity(
            settings=settings,
            denylist=PostgresDenylist(session_factory),
            throttle=InProcessThrottle(),
            mail=mail,
            media=media,
        )
        return
    client = redis_client(settings.redis_url)
    try:
        yield Identity(
            settings=settings,
            denylist=RedisWithPostgresDenylist(
                RedisDenylist(client), PostgresDenylist(session_factory)
            ),
            throttle=RedisThrottle(client),
            mail=mail,
            media=media,
        )
    finally:
        await client.aclose()
