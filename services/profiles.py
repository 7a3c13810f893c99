"""Profiles: public text (name, bio, skills, location), private contact (phone), the avatar.

Who may change what: the owner and admins everything; moderators the public text of plain users
(moderation); nobody else anything.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Role, User, UserStatus
from services import audit
from services.audit import RequestMeta
from services.avatars import avatar_key, clean_image
from services.errors import InvalidInput, NotAllowed, NotFound
from services.identity import Identity
from services.unit_of_work import UnitOfWork
from services.validation import check_display_name
from services.viewer import Viewer

MAX_BIO = 1000
MAX_LOCATION = 120
MAX_SKILLS = 20
MAX_SKILL = 40
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,30}$")
MODERATED_FIELDS = frozenset({"display_name", "bio", "avatar_key"})


@dataclass(frozen=True)
class ProfileChanges:
    """Only the fields a client sent; None in an optional field clears it."""

    values: dict[str, object] = field(default_factory=dict)
    remove_avatar: bool = False


def clean_changes(raw: dict[str, object]) -> dict[str, object]:
    cleaned: dict[str, object] = {}
    for name, value in raw.items():
        path = f"input.{_camel(name)}"
        if name == "display_name":
            cleaned[name] = check_display_name(str(value), field=path)
        elif name in ("bio", "location", "phone"):
            cleaned[name] = _optional_text(name, value, path)
        elif name == "skills":
            cleaned[name] = _skills(value, path)
        else:
            raise InvalidInput(f"unknown profile field {name}", field=path)
    return cleaned


def _optional_text(name: str, value: object, path: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    limit = {"bio": MAX_BIO, "location": MAX_LOCATION, "phone": 32}[name]
    if len(text) > limit:
        raise InvalidInput(f"use at most {limit} characters", field=path)
    if name == "phone" and not _PHONE.match(text):
        raise InvalidInput("not a phone number", field=path)
    return text


def _skills(value: object, path: str) -> list[str]:
    items = value if isinstance(value, list) else []
    skills: list[str] = []
    for item in items:
        skill = " ".join(str(item).split())
        if not 1 <= len(skill) <= MAX_SKILL:
            raise InvalidInput(f"each skill takes 1 to {MAX_SKILL} characters", field=path)
        if skill.lower() not in (known.lower() for known in skills):
            skills.append(skill)
    if len(skills) > MAX_SKILLS:
        raise InvalidInput(f"at most {MAX_SKILLS} skills", field=path)
    return skills


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def _editable(session: AsyncSession, viewer: Viewer, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.status is UserStatus.DELETED:
        raise NotFound("no such user", field="userId")
    return user


def _check_may_edit(viewer: Viewer, user: User, fields: set[str]) -> None:
    if viewer.owns(user.id) or viewer.is_admin:
        return
    if viewer.is_staff and user.role is Role.USER and fields <= MODERATED_FIELDS:
        return
    raise NotAllowed("you cannot change this profile", field="userId")


async def update_profile(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    identity: Identity,
    user_id: uuid.UUID,
    changes: ProfileChanges,
    meta: RequestMeta,
) -> User:
    session = work.session
    user = await _editable(session, viewer, user_id)
    wanted = set(changes.values) | ({"avatar_key"} if changes.remove_avatar else set())
    _check_may_edit(viewer, user, wanted)
    for name, value in clean_changes(changes.values).items():
        setattr(user, name, value)
    old_avatar = user.avatar_key if changes.remove_avatar else None
    if changes.remove_avatar:
        user.avatar_key = None
    if not viewer.owns(user.id):
        audit.record(
            session,
            action=audit.PROFILE_UPDATED_BY_STAFF,
            meta=meta,
            actor_id=viewer.user_id,
            target_id=user.id,
            fields=sorted(wanted),
        )
    if old_avatar is not None:
        await session.flush()
        await identity.media.delete(old_avatar)
    return user


async def upload_avatar(
    work: UnitOfWork, viewer: Viewer, *, identity: Identity, data: bytes, meta: RequestMeta
) -> User:
    """Validate and store a new avatar for the viewer; the previous file is removed."""
    session = work.session
    image = await asyncio.to_thread(clean_image, data)
    user = await _editable(session, viewer, viewer.user_id)
    key = avatar_key(user.id, image.extension)
    await identity.media.save(key, image.data)
    previous, user.avatar_key = user.avatar_key, key
    await session.flush()
    if previous is not None:
        await identity.media.delete(previous)
    return user
