"""Profile edits, avatar uploads, roles and account status: inputs, payloads, result unions."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from schema.errors import InvalidImageError, InvalidInputError, NotAllowedError, NotFoundError
from schema.users import Role, User, UserStatus


@strawberry.input(description="Only the fields sent change; null clears an optional field.")
class UpdateProfileInput:
    user_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Staff only: another user's profile. Omit for your own."
    )
    display_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    skills: list[str] | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    remove_avatar: bool = False


@strawberry.input
class SetUserRoleInput:
    user_id: relay.GlobalID
    role: Role


@strawberry.input
class SetUserStatusInput:
    user_id: relay.GlobalID
    status: UserStatus = strawberry.field(description="ACTIVE or SUSPENDED.")


@strawberry.type
class UpdateProfileSuccess:
    user: User


@strawberry.type
class UploadAvatarSuccess:
    user: User


@strawberry.type
class SetUserRoleSuccess:
    user: User


@strawberry.type
class SetUserStatusSuccess:
    user: User


UpdateProfileResult = Annotated[
    UpdateProfileSuccess | InvalidInputError | NotAllowedError | NotFoundError,
    strawberry.union("UpdateProfileResult"),
]
UploadAvatarResult = Annotated[
    UploadAvatarSuccess | InvalidImageError, strawberry.union("UploadAvatarResult")
]
SetUserRoleResult = Annotated[
    SetUserRoleSuccess | NotAllowedError | NotFoundError, strawberry.union("SetUserRoleResult")
]
SetUserStatusResult = Annotated[
    SetUserStatusSuccess | NotAllowedError | NotFoundError | InvalidInputError,
    strawberry.union("SetUserStatusResult"),
]
