"""Root fields about accounts: the viewer, and staff actions on roles and status."""

from __future__ import annotations

import strawberry

from app.security.permissions import IsAdmin, IsStaff
from resolvers.mutations import identity_of, mutate, request_meta, require_viewer, user_uuid
from schema.context import Info
from schema.errors import Result
from schema.profiles import (
    SetUserRoleInput,
    SetUserRoleResult,
    SetUserRoleSuccess,
    SetUserStatusInput,
    SetUserStatusResult,
    SetUserStatusSuccess,
)
from schema.users import User
from services import users
from services.unit_of_work import UnitOfWork


@strawberry.type
class UserQueries:
    @strawberry.field(description="The signed-in user; null for an anonymous client.")
    async def viewer(self, info: Info) -> User | None:
        viewer = info.context.viewer
        if viewer is None:
            return None
        row = await info.context.loaders.user_by_id.load(viewer.user_id)
        return User.from_row(row, reveal_removed=True) if row is not None else None


@strawberry.type
class UserMutations:
    @strawberry.mutation(
        description="Admins: make a user USER, MODERATOR or ADMIN. Takes effect at once.",
        permission_classes=[IsAdmin],
        graphql_type=SetUserRoleResult,
    )
    async def set_user_role(
        self, info: Info, input: SetUserRoleInput
    ) -> Result[SetUserRoleSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)
        target = user_uuid(input.user_id, field="input.userId")

        async def run(work: UnitOfWork) -> SetUserRoleSuccess:
            user = await users.set_role(
                work,
                viewer,
                identity=identity,
                user_id=target,
                role=input.role,
                meta=meta,
            )
            return SetUserRoleSuccess(user=User.from_row(user))

        return await mutate(info, run)

    @strawberry.mutation(
        description="Staff: suspend (every session ends at once) or reactivate an account.",
        permission_classes=[IsStaff],
        graphql_type=SetUserStatusResult,
    )
    async def set_user_status(
        self, info: Info, input: SetUserStatusInput
    ) -> Result[SetUserStatusSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)
        target = user_uuid(input.user_id, field="input.userId")

        async def run(work: UnitOfWork) -> SetUserStatusSuccess:
            user = await users.set_status(
                work,
                viewer,
                identity=identity,
                user_id=target,
                status=input.status,
                meta=meta,
            )
            return SetUserStatusSuccess(user=User.from_row(user))

        return await mutate(info, run)
