"""Accounts as rows: reading, email rules, roles, status and GDPR-style deletion."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import Role, User, UserStatus
from app.db.models.base import utcnow
from services import audit, passwords
from services.audit import RequestMeta
from services.errors import InvalidInput, NotAllowed, NotFound
from services.identity import Identity
from services.identity_errors import InvalidCredentials
from services.sessions import revoke_access_before, revoke_user_sessions
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

# Built once: the loader batch of every user field reuses its cache key and compiled form.
_USERS_BY_ID = select(User).where(
    col(User.id).in_(bindparam("ids", expanding=True)), col(User.status) != UserStatus.DELETED
)


async def users_by_id(
    session_factory: SessionFactory, ids: Sequence[uuid.UUID]
) -> list[User | None]:
    """Batch for the `user_by_id` loader: one query, results in the order asked.

    Deleted accounts are invisible, as if they had never existed.
    """
    async with session_factory() as session:
        rows = await session.scalars(_USERS_BY_ID, {"ids": list(ids)})
        found = {user.id: user for user in rows}
    return [found.get(user_id) for user_id in ids]


async def _target(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.status is UserStatus.DELETED:
        raise NotFound("no such user", field="userId")
    return user


async def set_role(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    identity: Identity,
    user_id: uuid.UUID,
    role: Role,
    meta: RequestMeta,
) -> User:
    """Admins only, never on themselves (the last admin cannot lock everyone out)."""
    session = work.session
    if not viewer.is_admin:
        raise NotAllowed("only admins change roles")
    if viewer.owns(user_id):
        raise NotAllowed("admins cannot change their own role", field="userId")
    user = await _target(session, user_id)
    previous, user.role = user.role, role
    # Access tokens carry the role: those issued before the change stop working now.
    now = utcnow()
    await revoke_access_before(session, identity=identity, user_id=user.id, now=now)
    audit.record(
        session,
        action=audit.ROLE_CHANGED,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=user.id,
        previous=previous.value,
        role=role.value,
    )
    return user


async def set_status(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    identity: Identity,
    user_id: uuid.UUID,
    status: UserStatus,
    meta: RequestMeta,
) -> User:
    """Suspend or reactivate. Admins: anyone but themselves; moderators: plain users only."""
    session = work.session
    if status is UserStatus.DELETED:
        raise InvalidInput("delete accounts with deleteAccount", field="status")
    if not viewer.is_staff:
        raise NotAllowed("only moderators and admins suspend accounts")
    if viewer.owns(user_id):
        raise NotAllowed("you cannot change your own status", field="userId")
    user = await _target(session, user_id)
    if not viewer.is_admin and user.role is not Role.USER:
        raise NotAllowed("moderators suspend plain users only", field="userId")
    previous, user.status = user.status, status
    if status is UserStatus.SUSPENDED:
        await revoke_user_sessions(session, identity=identity, user_id=user.id, now=utcnow())
    audit.record(
        session,
        action=audit.STATUS_CHANGED,
        meta=meta,
        actor_id=viewer.user_id,
        target_id=user.id,
        previous=previous.value,
        status=status.value,
    )
    return user


async def delete_account(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    identity: Identity,
    user_id: uuid.UUID,
    password: str | None,
    meta: RequestMeta,
) -> None:
    """GDPR-style erasure: the row stays (other records point at it) but says nothing of the
    person; sessions end and the avatar file goes. Own account with its password, or an admin."""
    session = work.session
    if not (viewer.owns(user_id) or viewer.is_admin):
        raise NotAllowed("you can delete only your own account", field="userId")
    user = await _target(session, user_id)
    if viewer.owns(user_id):
        ok = password is not None and await passwords.verified(user.password_hash, password)
        if not ok:
            raise InvalidCredentials("wrong password", field="input.password")
    avatar = user.avatar_key
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.password_hash = "!"  # noqa: S105  (matches no password)
    user.display_name = "Deleted user"
    user.bio = user.location = user.phone = user.avatar_key = None
    user.skills = []
    user.status = UserStatus.DELETED
    await revoke_user_sessions(session, identity=identity, user_id=user.id, now=utcnow())
    audit.record(
        session, action=audit.ACCOUNT_DELETED, meta=meta, actor_id=viewer.user_id, target_id=user.id
    )
    if avatar is not None:
        await session.flush()
        await identity.media.delete(avatar)
