"""Sign-up, sign-in, sessions and passwords: inputs, payloads and result unions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay

from schema.errors import (
    AccountSuspendedError,
    EmailTakenError,
    IdempotencyKeyReusedError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidRefreshTokenError,
    InvalidResetTokenError,
    NotAllowedError,
    NotFoundError,
    WeakPasswordError,
)
from schema.users import User
from services.sessions import SessionTokens


@strawberry.type(
    description="Tokens of a signed-in session. Send `accessToken` as `Authorization: Bearer`; "
    "before it expires (15 min) trade `refreshToken` for a new pair with `refreshSession`. "
    "Every refresh token works once: keep the newest."
)
class Session:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime

    @classmethod
    def from_tokens(cls, tokens: SessionTokens) -> Self:
        return cls(
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_token_expires_at,
        )


@strawberry.input
class SignUpInput:
    email: str
    password: str = strawberry.field(description="At least 10 characters; not a common password.")
    display_name: str
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Choose one per sign-up and send it again when you retry: a repeat with the "
        "same email, password and display name gets the account the first request made, with a "
        "new session. Scoped to the email address (there is no user yet); other input under the "
        "same key is IDEMPOTENCY_KEY_REUSED.",
    )


@strawberry.input
class SignInInput:
    email: str
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class ResetPasswordInput:
    token: str = strawberry.field(description="The code from the password-reset mail.")
    new_password: str


@strawberry.input
class DeleteAccountInput:
    user_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Admins only: another account. Omit for your own."
    )
    password: str | None = strawberry.field(
        default=None, description="Your password; required to delete your own account."
    )


@strawberry.type
class SignUpSuccess:
    user: User
    session: Session


@strawberry.type
class SignInSuccess:
    user: User
    session: Session


@strawberry.type
class RefreshSessionSuccess:
    user: User
    session: Session


@strawberry.type
class SignOutSuccess:
    signed_out: bool = True


@strawberry.type
class SignOutEverywhereSuccess:
    sessions_ended: int = strawberry.field(description="How many sessions were open.")


@strawberry.type(description="Every other session has ended; this is the caller's new one.")
class ChangePasswordSuccess:
    session: Session


@strawberry.type(
    description="Always returned for a well-formed address, whether or not it has an account."
)
class RequestPasswordResetSuccess:
    email: str


@strawberry.type(description="The password is changed and every session ended: sign in again.")
class ResetPasswordSuccess:
    email: str


@strawberry.type
class DeleteAccountSuccess:
    deleted_user_id: relay.GlobalID


SignUpResult = Annotated[
    SignUpSuccess
    | EmailTakenError
    | WeakPasswordError
    | InvalidInputError
    | IdempotencyKeyReusedError,
    strawberry.union("SignUpResult"),
]
SignInResult = Annotated[
    SignInSuccess | InvalidCredentialsError | AccountSuspendedError | InvalidInputError,
    strawberry.union("SignInResult"),
]
RefreshSessionResult = Annotated[
    RefreshSessionSuccess | InvalidRefreshTokenError, strawberry.union("RefreshSessionResult")
]
SignOutResult = Annotated[
    SignOutSuccess | InvalidRefreshTokenError, strawberry.union("SignOutResult")
]
SignOutEverywhereResult = Annotated[
    SignOutEverywhereSuccess, strawberry.union("SignOutEverywhereResult")
]
ChangePasswordResult = Annotated[
    ChangePasswordSuccess | InvalidCredentialsError | WeakPasswordError,
    strawberry.union("ChangePasswordResult"),
]
RequestPasswordResetResult = Annotated[
    RequestPasswordResetSuccess | InvalidInputError, strawberry.union("RequestPasswordResetResult")
]
ResetPasswordResult = Annotated[
    ResetPasswordSuccess | InvalidResetTokenError | WeakPasswordError,
    strawberry.union("ResetPasswordResult"),
]
DeleteAccountResult = Annotated[
    DeleteAccountSuccess | InvalidCredentialsError | NotAllowedError | NotFoundError,
    strawberry.union("DeleteAccountResult"),
]
