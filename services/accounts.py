"""Accounts: sign-up, password change, password reset by mail, bootstrap admins."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import PasswordResetToken, Role, User, UserStatus
from app.db.models.base import utcnow
from services import audit, business_events, idempotency, passwords
from services.analytics import events as analytics
from services.audit import RequestMeta
from services.identity import Identity
from services.identity_errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidResetToken,
)
from services.mail import Mail
from services.password_policy import check_password
from services.sessions import SessionTokens, hash_token, issue_tokens, revoke_user_sessions
from services.unit_of_work import UnitOfWork
from services.validation import check_display_name, normalise_email
from services.viewer import Viewer

RESET_TOKEN_TTL = timedelta(minutes=30)


async def create_user(
    session: AsyncSession, *, email: str, password: str, display_name: str, role: Role = Role.USER
) -> User:
    """Validate and insert an account; EmailTaken when the address is in use (any case)."""
    email = normalise_email(email)
    display_name = check_display_name(display_name)
    check_password(password, email=email)
    if await session.scalar(select(col(User.id)).where(func.lower(User.email) == email)):
        raise EmailTaken("an account with this email exists", field="input.email")
    user = User(
        email=email,
        password_hash=await passwords.hashed(password),
        display_name=display_name,
        role=role,
    )
    try:
        # The INSERT in a savepoint of its own (begin_nested flushes what is pending before the
        # SAVEPOINT): losing the race must leave the transaction usable.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as error:  # a concurrent sign-up with the same email won
        raise EmailTaken("an account with this email exists", field="input.email") from error
    return user


async def sign_up(
    work: UnitOfWork,
    *,
    identity: Identity,
    email: str,
    password: str,
    display_name: str,
    meta: RequestMeta,
    idempotency_key: str | None = None,
) -> tuple[User, SessionTokens]:
    """A new account, signed in. Under an idempotency key a repeat is answered with the account
    the first request made and a new session (tokens are never stored): see `_replayed`."""
    session = work.session
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
    try:
        user = await create_user(session, email=email, password=password, display_name=display_name)
    except EmailTaken:
        if idempotency_key is None:
            raise
        first = await _replayed(session, idempotency_key, email, password, display_name)
        if first is None:
            raise
        audit.record(session, action=audit.SIGN_UP_REPLAYED, meta=meta, target_id=first.id)
        return first, await issue_tokens(session, identity=identity, user=first, meta=meta)
    if idempotency_key is not None:
        await idempotency.remember(
            session,
            owner_id=user.id,
            key=idempotency_key,
            operation=SIGN_UP,
            request=_sign_up_request(email, display_name),
        )
    audit.record(session, action=audit.SIGN_UP, meta=meta, actor_id=user.id, target_id=user.id)
    analytics.record(session, analytics.SIGNED_UP, user.id)
    work.after_commit(business_events.signed_up)
    return user, await issue_tokens(session, identity=identity, user=user, meta=meta)


SIGN_UP = "signUp"


def _sign_up_request(email: str, display_name: str) -> dict[str, str]:
    """What a repeat must match besides the password (which is checked against its hash: a
    fast hash of it would be stored where an argon2id one belongs)."""
    return {"email": normalise_email(email), "displayName": check_display_name(display_name)}


async def _replayed(
    session: AsyncSession, key: str, email: str, password: str, display_name: str
) -> User | None:
    """The account an earlier sign-up made under `key` with this input, or None.

    Sign-up keys are scoped by email address, since there is no user yet: the key row belongs to
    the account it made. So a key the app reuses for another address is another sign-up, and a
    repeat must know the password, as signing in would.
    """
    address = normalise_email(email)
    user = await session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or user.status is not UserStatus.ACTIVE:
        return None
    request = _sign_up_request(email, display_name)
    if not await idempotency.recall(
        session, owner_id=user.id, key=key, operation=SIGN_UP, request=request
    ):
        return None
    if not await passwords.verified(user.password_hash, password):
        raise idempotency.reused()
    return user


async def change_password(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    identity: Identity,
    current_password: str,
    new_password: str,
    meta: RequestMeta,
) -> SessionTokens:
    """Every session ends, this one included; the caller gets a fresh session back."""
    session = work.session
    user = await session.get(User, viewer.user_id, with_for_update=True)
    if user is None or user.status is not UserStatus.ACTIVE:
        raise InvalidCredentials("account not available", field="input.currentPassword")
    if not await passwords.verified(user.password_hash, current_password):
        audit.record(session, action=audit.PASSWORD_CHANGE_FAILED, meta=meta, target_id=user.id)
        raise InvalidCredentials("wrong password", field="input.currentPassword")
    check_password(new_password, email=user.email, field="input.newPassword")
    user.password_hash = await passwords.hashed(new_password)
    now = utcnow()
    await revoke_user_sessions(session, identity=identity, user_id=user.id, now=now)
    audit.record(
        session, action=audit.PASSWORD_CHANGED, meta=meta, actor_id=user.id, target_id=user.id
    )
    return await issue_tokens(session, identity=identity, user=user, meta=meta, now=now)


async def request_password_reset(
    work: UnitOfWork, *, identity: Identity, email: str, meta: RequestMeta
) -> Mail | None:
    """The mail to send after commit, or None; callers answer the same either way, so the
    response never tells whether an address has an account."""
    session = work.session
    email = normalise_email(email)
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None or user.status is not UserStatus.ACTIVE:
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + RESET_TOKEN_TTL
        )
    )
    audit.record(session, action=audit.PASSWORD_RESET_REQUESTED, meta=meta, target_id=user.id)
    link = identity.settings.password_reset_url.format(token=token)
    body = (
        f"Hello {user.display_name},\n\nTo choose a new BountyExpo password, open this link "
        f"within 30 minutes:\n\n{link}\n\nYour reset code: {token}\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
    )
    return Mail(to=user.email, subject="Reset your BountyExpo password", body=body)


async def reset_password(
    work: UnitOfWork, *, identity: Identity, token: str, new_password: str, meta: RequestMeta
) -> User:
    """Single use, 30 minutes; every session of the account ends."""
    session = work.session
    now = utcnow()
    invalid = InvalidResetToken("this reset link is not valid; ask for a new one", field="token")
    row = await session.scalar(
        select(PasswordResetToken)
        .where(col(PasswordResetToken.token_hash) == hash_token(token))
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise invalid
    user = await session.get(User, row.user_id, with_for_update=True)
    if user is None or user.status is not UserStatus.ACTIVE:
        raise invalid
    check_password(new_password, email=user.email, field="input.newPassword")
    row.used_at = now
    # Other outstanding reset links of the account die with this one.
    await session.execute(
        update(PasswordResetToken)
        .where(
            col(PasswordResetToken.user_id) == user.id, col(PasswordResetToken.used_at).is_(None)
        )
        .values(used_at=now)
    )
    user.password_hash = await passwords.hashed(new_password)
    await revoke_user_sessions(session, identity=identity, user_id=user.id, now=now)
    audit.record(
        session, action=audit.PASSWORD_RESET, meta=meta, actor_id=user.id, target_id=user.id
    )
    return user
