"""Root mutations for accounts and sessions: thin calls into services."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.security.permissions import IsAuthenticated
from app.security.rate_limits import limit_request
from resolvers.mutations import identity_of, mutate, request_meta, require_viewer, user_uuid
from schema.accounts import (
    ChangePasswordInput,
    ChangePasswordResult,
    ChangePasswordSuccess,
    DeleteAccountInput,
    DeleteAccountResult,
    DeleteAccountSuccess,
    RefreshSessionResult,
    RefreshSessionSuccess,
    RequestPasswordResetResult,
    RequestPasswordResetSuccess,
    ResetPasswordInput,
    ResetPasswordResult,
    ResetPasswordSuccess,
    Session,
    SignInInput,
    SignInResult,
    SignInSuccess,
    SignOutEverywhereResult,
    SignOutEverywhereSuccess,
    SignOutResult,
    SignOutSuccess,
    SignUpInput,
    SignUpResult,
    SignUpSuccess,
)
from schema.context import Info
from schema.errors import UNAUTHENTICATED, ApiError, Result
from schema.users import User
from services import accounts, sessions, users
from services.mail import Mail
from services.unit_of_work import UnitOfWork
from services.validation import normalise_email


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create an account and sign in.", graphql_type=SignUpResult)
    async def sign_up(self, info: Info, input: SignUpInput) -> Result[SignUpSuccess]:
        identity, meta = identity_of(info), request_meta(info)
        await limit_request(info.context, "auth", f"sign-up:{meta.ip}")

        async def run(work: UnitOfWork) -> SignUpSuccess:
            user, tokens = await accounts.sign_up(
                work,
                identity=identity,
                email=input.email,
                password=input.password,
                display_name=input.display_name,
                meta=meta,
                idempotency_key=input.idempotency_key,
            )
            return SignUpSuccess(
                user=User.from_row(user, shown_to_owner=True), session=Session.from_tokens(tokens)
            )

        return await mutate(info, run)

    @strawberry.mutation(
        description="Sign in with email and password. Failed attempts are limited per account "
        "and per client address (RATE_LIMITED with `retryAfter` seconds).",
        graphql_type=SignInResult,
    )
    async def sign_in(self, info: Info, input: SignInInput) -> Result[SignInSuccess]:
        identity, meta = identity_of(info), request_meta(info)

        async def run(work: UnitOfWork) -> SignInSuccess:
            user, tokens = await sessions.sign_in(
                work,
                identity=identity,
                email=input.email,
                password=input.password,
                meta=meta,
            )
            return SignInSuccess(
                user=User.from_row(user, shown_to_owner=True), session=Session.from_tokens(tokens)
            )

        return await mutate(info, run)

    @strawberry.mutation(
        description="Trade a refresh token for a new session pair; the old token stops working. "
        "Reusing a rotated token more than 10 s later ends the whole session.",
        graphql_type=RefreshSessionResult,
    )
    async def refresh_session(
        self, info: Info, refresh_token: str
    ) -> Result[RefreshSessionSuccess]:
        identity, meta = identity_of(info), request_meta(info)

        async def run(work: UnitOfWork) -> RefreshSessionSuccess:
            user, tokens = await sessions.refresh(
                work, identity=identity, token=refresh_token, meta=meta
            )
            return RefreshSessionSuccess(
                user=User.from_row(user, shown_to_owner=True), session=Session.from_tokens(tokens)
            )

        return await mutate(info, run)

    @strawberry.mutation(
        description="End this session: the access token sent, its session, and `refreshToken` "
        "(which alone suffices when the access token has expired).",
        graphql_type=SignOutResult,
    )
    async def sign_out(
        self, info: Info, refresh_token: str | None = None
    ) -> Result[SignOutSuccess]:
        viewer, identity, meta = info.context.viewer, identity_of(info), request_meta(info)
        if viewer is None and refresh_token is None:
            raise ApiError("sign in first, or pass your refresh token", UNAUTHENTICATED)

        async def run(work: UnitOfWork) -> SignOutSuccess:
            await sessions.sign_out(
                work, viewer, identity=identity, refresh_token=refresh_token, meta=meta
            )
            return SignOutSuccess()

        return await mutate(info, run)

    @strawberry.mutation(
        description="End every session of your account, on every device.",
        permission_classes=[IsAuthenticated],
        graphql_type=SignOutEverywhereResult,
    )
    async def sign_out_everywhere(self, info: Info) -> Result[SignOutEverywhereSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)

        async def run(work: UnitOfWork) -> SignOutEverywhereSuccess:
            count = await sessions.sign_out_everywhere(work, viewer, identity=identity, meta=meta)
            return SignOutEverywhereSuccess(sessions_ended=count)

        return await mutate(info, run)

    @strawberry.mutation(
        description="Change your password. Every session ends; you get a new one back.",
        permission_classes=[IsAuthenticated],
        graphql_type=ChangePasswordResult,
    )
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> Result[ChangePasswordSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)

        async def run(work: UnitOfWork) -> ChangePasswordSuccess:
            tokens = await accounts.change_password(
                work,
                viewer,
                identity=identity,
                current_password=input.current_password,
                new_password=input.new_password,
                meta=meta,
            )
            return ChangePasswordSuccess(session=Session.from_tokens(tokens))

        return await mutate(info, run)

    @strawberry.mutation(
        description="Mail a single-use reset code (valid 30 minutes) if the address has an "
        "account. The answer is the same either way.",
        graphql_type=RequestPasswordResetResult,
    )
    async def request_password_reset(
        self, info: Info, email: str
    ) -> Result[RequestPasswordResetSuccess]:
        identity, meta = identity_of(info), request_meta(info)
        account = email.strip().lower()
        await limit_request(info.context, "auth", f"reset:{meta.ip}", f"reset:{account}")
        outgoing: list[Mail] = []

        async def run(work: UnitOfWork) -> RequestPasswordResetSuccess:
            address = normalise_email(email, field="email")
            mail = await accounts.request_password_reset(
                work, identity=identity, email=address, meta=meta
            )
            outgoing.extend([mail] if mail else [])
            return RequestPasswordResetSuccess(email=address)

        result = await mutate(info, run)
        for mail in outgoing:  # only once the token is committed
            await identity.mail.send(mail)
        return result

    @strawberry.mutation(
        description="Choose a new password with the code from the reset mail.",
        graphql_type=ResetPasswordResult,
    )
    async def reset_password(
        self, info: Info, input: ResetPasswordInput
    ) -> Result[ResetPasswordSuccess]:
        identity, meta = identity_of(info), request_meta(info)
        await limit_request(info.context, "auth", f"reset-password:{meta.ip}")

        async def run(work: UnitOfWork) -> ResetPasswordSuccess:
            user = await accounts.reset_password(
                work,
                identity=identity,
                token=input.token,
                new_password=input.new_password,
                meta=meta,
            )
            return ResetPasswordSuccess(email=user.email)

        return await mutate(info, run)

    @strawberry.mutation(
        description="Erase an account (GDPR): personal data is removed and every session ends.",
        permission_classes=[IsAuthenticated],
        graphql_type=DeleteAccountResult,
    )
    async def delete_account(
        self, info: Info, input: DeleteAccountInput
    ) -> Result[DeleteAccountSuccess]:
        viewer, identity, meta = require_viewer(info), identity_of(info), request_meta(info)
        target = user_uuid(input.user_id, field="userId") if input.user_id else viewer.user_id

        async def run(work: UnitOfWork) -> DeleteAccountSuccess:
            await users.delete_account(
                work,
                viewer,
                identity=identity,
                user_id=target,
                password=input.password,
                meta=meta,
            )
            return DeleteAccountSuccess(deleted_user_id=relay.GlobalID("User", str(target)))

        return await mutate(info, run)
