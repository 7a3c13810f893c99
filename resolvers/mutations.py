"""Running a mutation: one unit of work, domain failures returned as UserError union members.

Failures marked `keeps_changes` (a failed sign-in's audit row, a family revoked on token reuse)
commit what the service wrote before the failure; all others roll back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.datastructures import UploadFile
from starlette.responses import Response
from strawberry import relay
from strawberry.file_uploads import Upload

from app.security.rate_limits import set_retry_after, unavailable
from schema.context import Info
from schema.errors import (
    BAD_USER_INPUT,
    RATE_LIMITED,
    UNAUTHENTICATED,
    ApiError,
    Result,
    user_error,
)
from services.audit import RequestMeta
from services.avatars import MAX_BYTES
from services.errors import DomainError
from services.identity import Identity
from services.identity_errors import TooManyAttempts
from services.passwords import PasswordWorkBusy
from services.throttle import LimiterUnavailable
from services.unit_of_work import UnitOfWork, unit_of_work
from services.viewer import Viewer

T = TypeVar("T")


async def mutate(info: Info, operation: Callable[[UnitOfWork], Awaitable[T]]) -> Result[T]:
    """The operation's success, or the error's union member on a domain failure, which the
    field's `<Verb><Noun>Result` union must list (strawberry refuses the response if not)."""
    context = info.context
    failure: DomainError
    try:
        async with unit_of_work(context.session_factory, context.broker) as work:
            try:
                done = await operation(work)
                context.wrote = True  # committing now: an outage from here on may follow a write
                return done
            except DomainError as error:
                if not getattr(error, "keeps_changes", False):
                    raise
                failure = error
    except DomainError as error:
        failure = error
    if isinstance(failure, TooManyAttempts | LimiterUnavailable | PasswordWorkBusy):
        # Throttled, the limiter is down (sign-in and revocation fail closed), or too many
        # password hashes at once (shed: 503, as the load-shedding middleware answers).
        if isinstance(failure, TooManyAttempts):
            refusal = ApiError(failure.message, RATE_LIMITED, retryAfter=failure.retry_after)
        elif isinstance(failure, PasswordWorkBusy):
            refusal = ApiError(failure.message, failure.code, retryAfter=failure.retry_after)
        else:
            refusal = unavailable()
        set_retry_after(context, refusal)
        if isinstance(failure, PasswordWorkBusy) and isinstance(context.response, Response):
            context.response.status_code = 503
        raise refusal
    return user_error(failure)


async def attempt(operation: Awaitable[T]) -> Result[T]:
    """A service call that runs its own units of work (phases around a provider call): its
    result, or the domain failure's union member."""
    try:
        return await operation
    except DomainError as error:
        return user_error(error)


def request_meta(info: Info) -> RequestMeta:
    request = info.context.request
    client = getattr(request, "client", None)
    headers = getattr(request, "headers", None)
    return RequestMeta(
        ip=client.host if client else None,
        user_agent=headers.get("user-agent") if headers is not None else None,
        trace_id=info.context.request_id or None,
    )


def identity_of(info: Info) -> Identity:
    identity = info.context.identity
    if identity is None:
        raise RuntimeError("the context has no identity services")
    return identity


def require_viewer(info: Info) -> Viewer:
    viewer = info.context.viewer
    if viewer is None:
        raise ApiError("sign in first", UNAUTHENTICATED)
    return viewer


def node_uuid(global_id: relay.GlobalID, type_name: str, *, field: str) -> uuid.UUID:
    """The UUID inside a global id of `type_name`; BAD_USER_INPUT for anything else."""
    if global_id.type_name == type_name:
        try:
            return uuid.UUID(global_id.node_id)
        except ValueError:
            pass
    raise ApiError(f"not the id of a {type_name}", BAD_USER_INPUT, field=field)


def user_uuid(global_id: relay.GlobalID, *, field: str) -> uuid.UUID:
    return node_uuid(global_id, "User", field=field)


async def read_upload(file: Upload) -> bytes:
    """An uploaded image's bytes, one more than allowed at most (which tells "too large")."""
    if not isinstance(file, UploadFile):  # Upload accepts any JSON value; only files work
        raise ApiError("`file` must be a file part of a multipart request", BAD_USER_INPUT)
    return await file.read(MAX_BYTES + 1)
