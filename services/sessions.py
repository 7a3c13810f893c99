"""Sessions: sign-in, refresh-token rotation, sign-out.

A session is a family of opaque refresh tokens, stored as SHA-256 hashes (they carry 256 random
bits, so a fast hash is enough). Each refresh rotates: the presented token is marked rotated and a
new one is issued in the same family. Presenting a rotated token again means it leaked, and the
whole family is revoked (its refresh tokens, and its access tokens through the `sid:` denylist
entry) -- except within the grace window (REFRESH_REUSE_GRACE_SECONDS, 10 s by default) after its
rotation: a mobile client that fires several refreshes at once then gets a fresh token in the same
family for each, instead of being signed out. Ten concurrent refreshes of one token therefore all
succeed, each with its own new token; the presented token is rotated exactly once.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import RefreshToken, User, UserStatus
from app.db.models.base import utcnow
from app.security.jwt import CLOCK_LEEWAY, issue_access_token
from services import audit, passwords
from services.audit import RequestMeta
from services.identity import Identity
from services.identity_errors import (
    AccountSuspended,
    InvalidCredentials,
    InvalidRefreshToken,
    TooManyAttempts,
)
from services.passwords import needs_rehash
from services.unit_of_work import UnitOfWork
from services.validation import normalise_email
from services.viewer import Viewer


@dataclass(frozen=True, slots=True)
class SessionTokens:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    session_id: uuid.UUID


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def floor_ms(timestamp: float) -> float:
    return math.floor(timestamp * 1000) / 1000


async def issue_tokens(
    session: AsyncSession,
    *,
    identity: Identity,
    user: User,
    meta: RequestMeta,
    family_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> SessionTokens:
    """A refresh token in `family_id` (a new session when None) and an access token for it."""
    now = now or utcnow()
    family = family_id or uuid.uuid4()
    refresh = secrets.token_urlsafe(32)
    expires = now + timedelta(days=identity.settings.refresh_token_ttl_days)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family,
            token_hash=hash_token(refresh),
            expires_at=expires,
            ip=meta.ip,
            user_agent=(meta.user_agent or "")[:300] or None,
        )
    )
    access = issue_access_token(
        identity.settings, user_id=user.id, role=user.role, session_id=family, now=now
    )
    return SessionTokens(access, now + identity.access_ttl, refresh, expires, family)


_dummy_hash: str | None = None


async def _verify_against_nothing(password: str) -> None:
    """Spend what a real check costs, so timing does not tell which emails have accounts."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await passwords.hashed(secrets.token_hex(16))
    await passwords.verified(_dummy_hash, password)


async def sign_in(
    work: UnitOfWork, *, identity: Identity, email: str, password: str, meta: RequestMeta
) -> tuple[User, SessionTokens]:
    session = work.session
    settings = identity.settings
    email = normalise_email(email)
    account_key, ip_key = f"account:{email}", f"ip:{meta.ip or 'unknown'}"
    count, retry_after = await identity.throttle.hit(
        [account_key, ip_key], settings.login_window_seconds
    )
    if count > settings.login_max_failures:
        audit.record(session, action=audit.SIGN_IN_THROTTLED, meta=meta, email=email)
        raise TooManyAttempts(retry_after)
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    try:
        if user is None or user.status is UserStatus.DELETED:
            await _verify_against_nothing(password)
            audit.record(session, action=audit.SIGN_IN_FAILED, meta=meta, email=email)
            raise InvalidCredentials("wrong email or password")
        matches = await passwords.verified(user.password_hash, password)
    except passwords.PasswordWorkBusy:
        # Not an attempt: the password was never checked.
        await identity.throttle.undo(account_key)
        await identity.throttle.undo(ip_key)
        raise
    if not matches:
        audit.record(session, action=audit.SIGN_IN_FAILED, meta=meta, target_id=user.id)
        raise InvalidCredentials("wrong email or password")
    if user.status is UserStatus.SUSPENDED:
        audit.record(session, action=audit.SIGN_IN_SUSPENDED, meta=meta, target_id=user.id)
        raise AccountSuspended("this account is suspended")
    await identity.throttle.reset(account_key)
    await identity.throttle.undo(ip_key)
    if needs_rehash(user.password_hash):
        user.password_hash = await passwords.hashed(password)
    tokens = await issue_tokens(session, identity=identity, user=user, meta=meta)
    audit.record(session, action=audit.SIGN_IN, meta=meta, actor_id=user.id, target_id=user.id)
    return user, tokens


async def refresh(
    work: UnitOfWork, *, identity: Identity, token: str, meta: RequestMeta
) -> tuple[User, SessionTokens]:
    session = work.session
    now = utcnow()
    # The row lock serialises concurrent refreshes of one token: each sees the others' rotation.
    row = await session.scalar(
        select(RefreshToken)
        .where(col(RefreshToken.token_hash) == hash_token(token))
        .with_for_update()
    )
    invalid = InvalidRefreshToken("this refresh token is not valid; sign in again")
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise invalid
    user = await session.get(User, row.user_id)
    if user is None or user.status is not UserStatus.ACTIVE:
        raise invalid
    if row.rotated_at is None:
        row.rotated_at = now
    elif now - row.rotated_at > timedelta(seconds=identity.settings.refresh_reuse_grace_seconds):
        revoked = await revoke_family(session, identity=identity, family_id=row.family_id, now=now)
        audit.record(
            session,
            action=audit.REFRESH_REUSED,
            meta=meta,
            target_id=user.id,
            session_id=str(row.family_id),
            revoked_tokens=revoked,
        )
        raise invalid
    tokens = await issue_tokens(
        session, identity=identity, user=user, meta=meta, family_id=row.family_id, now=now
    )
    return user, tokens


async def revoke_family(
    session: AsyncSession, *, identity: Identity, family_id: uuid.UUID, now: datetime
) -> int:
    """Revoke a session's refresh tokens and, through the denylist, its access tokens."""
    result = await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
        .returning(col(RefreshToken.id))
    )
    await identity.denylist.revoke(
        session, f"sid:{family_id}", revoked_at=now, expires_at=_access_horizon(identity, now)
    )
    return len(result.all())


async def revoke_user_sessions(
    session: AsyncSession, *, identity: Identity, user_id: uuid.UUID, now: datetime
) -> int:
    """End every session of a user: refresh tokens revoked, access tokens issued before `now` void.

    Returns how many sessions were open.
    """
    result = await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
        .returning(col(RefreshToken.family_id))
    )
    await revoke_access_before(session, identity=identity, user_id=user_id, now=now)
    return len(set(result.scalars()))


async def revoke_access_before(
    session: AsyncSession, *, identity: Identity, user_id: uuid.UUID, now: datetime
) -> None:
    """Access tokens of `user_id` issued before `now` stop working (role or status changed)."""
    await identity.denylist.revoke(
        session, f"user:{user_id}", revoked_at=now, expires_at=_access_horizon(identity, now)
    )


def _access_horizon(identity: Identity, now: datetime) -> datetime:
    """When every access token issued up to `now` has expired (so the entry can go)."""
    return now + identity.access_ttl + CLOCK_LEEWAY


async def sign_out(
    work: UnitOfWork,
    viewer: Viewer | None,
    *,
    identity: Identity,
    refresh_token: str | None,
    meta: RequestMeta,
) -> None:
    """End the viewer's session, or the one `refresh_token` belongs to (an expired access token
    must not keep a client from signing out)."""
    session = work.session
    now = utcnow()
    families: set[uuid.UUID] = set()
    user_id = viewer.user_id if viewer else None
    if refresh_token is not None:
        row = await session.scalar(
            select(RefreshToken).where(col(RefreshToken.token_hash) == hash_token(refresh_token))
        )
        if row is None:
            raise InvalidRefreshToken("unknown refresh token", field="refreshToken")
        families.add(row.family_id)
        user_id = user_id or row.user_id
    if viewer is not None and viewer.session_id is not None:
        families.add(uuid.UUID(viewer.session_id))
    if viewer is not None and viewer.token_id is not None:
        expires = viewer.token_expires_at or _access_horizon(identity, now)
        await identity.denylist.revoke(
            session, f"jti:{viewer.token_id}", revoked_at=now, expires_at=expires + CLOCK_LEEWAY
        )
    for family_id in families:
        await revoke_family(session, identity=identity, family_id=family_id, now=now)
    audit.record(session, action=audit.SIGN_OUT, meta=meta, actor_id=user_id, target_id=user_id)


async def sign_out_everywhere(
    work: UnitOfWork, viewer: Viewer, *, identity: Identity, meta: RequestMeta
) -> int:
    session = work.session
    count = await revoke_user_sessions(
        session, identity=identity, user_id=viewer.user_id, now=utcnow()
    )
    audit.record(
        session,
        action=audit.SIGN_OUT_EVERYWHERE,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=viewer.user_id,
        sessions=count,
    )
    return count
