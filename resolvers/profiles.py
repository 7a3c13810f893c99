"""Root fields for profiles: read one, edit one, upload an avatar."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from app.security.permissions import IsAuthenticated
from resolvers.mutations import (
    identity_of,
    mutate,
    read_upload,
    request_meta,
    require_viewer,
    user_uuid,
)
from schema.context import Info
from schema.errors import Result
from schema.profiles import (
    UpdateProfileInput,
    UpdateProfileResult,
    UpdateProfileSuccess,
    UploadAvatarResult,
    UploadAvatarSuccess,
)
from schema.users import User, parse_uuid
from services import profiles
from services.unit_of_work import UnitOfWork

PROFILE_FIELDS = ("display_name", "bio", "skills", "location", "phone")


@strawberry.type
class ProfileQueries:
    @strawberry.field(description="A user's profile by global id; null if unknown or deleted.")
    async def profile(self, info: Info, id: relay.GlobalID) -> User | None:
        user_id = parse_uuid(id.node_id) if id.type_name == "User" else None
        if user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(user_id)
        if row is None:
            return None
        viewer = info.context.viewer  # staff and the user still see a removed profile
        return User.from_row(
            row, reveal_removed=viewer is not None and (viewer.is_staff or viewer.owns(row.id))
        )


@strawberry.type
class ProfileMutations:
    @strawberry.mutation(
        description="Change profile fields. Your own; staff may moderate others' public text.",
        permission_classes=[IsAuthenticated],
        graphql_type=UpdateProfileResult,
    )
    async def update_profile(
        self, info: Info, input: UpdateProfileInput
    ) -> Result[UpdateProfileSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)
        target = user_uuid(input.user_id, field="input.userId") if input.user_id else viewer.user_id
        values: dict[str, Any] = {
            name: getattr(input, name)
            for name in PROFILE_FIELDS
            if getattr(input, name) is not strawberry.UNSET
        }
        changes = profiles.ProfileChanges(values=values, remove_avatar=input.remove_avatar)

        async def run(work: UnitOfWork) -> UpdateProfileSuccess:
            user = await profiles.update_profile(
                work, viewer, identity=identity, user_id=target, changes=changes, meta=meta
            )
            return UpdateProfileSuccess(user=User.from_row(user))

        return await mutate(info, run)

    @strawberry.mutation(
        description="Upload your avatar (multipart request): PNG, JPEG or WebP, at most 5 MB "
        "and 4096x4096. It is re-encoded; metadata is dropped.",
        permission_classes=[IsAuthenticated],
        graphql_type=UploadAvatarResult,
    )
    async def upload_avatar(self, info: Info, file: Upload) -> Result[UploadAvatarSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)
        data = await read_upload(file)

        async def run(work: UnitOfWork) -> UploadAvatarSuccess:
            user = await profiles.upload_avatar(
                work, viewer, identity=identity, data=data, meta=meta
            )
            return UploadAvatarSuccess(user=User.from_row(user))

        return await mutate(info, run)
