"""Expected failures of business operations. The GraphQL layer turns them into UserError data."""

from __future__ import annotations


class AccountClosed(Exception):
    """The signed-in user no longer exists (deleted while an access token still lived): the
    client sees UNAUTHENTICATED (app/graphql_errors.py), as it will once the token is refused."""


class DomainError(Exception):
    """Base of every expected failure: a stable UPPER_SNAKE code, a message and maybe a field."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    code = "NOT_FOUND"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class NotAllowed(DomainError):
    code = "NOT_ALLOWED"


class Conflict(DomainError):
    code = "CONFLICT"


class IdempotencyKeyReused(DomainError):
    """The idempotency key was used before with a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"
