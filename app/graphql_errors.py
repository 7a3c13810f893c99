"""Every error a client sees carries `extensions.code`; unexpected ones are logged and masked.

Parse and validation failures, bad variables, ApiError and invalid global ids keep their messages;
a dependency outage (app/outages.py) becomes SERVICE_UNAVAILABLE with `retryAfter`;
anything else is a bug: logged once with the request id and traceback, and shown to clients as
INTERNAL_SERVER_ERROR (with the original message outside production, never a traceback).

This runs on the finished result rather than in a schema extension: errors raised inside
extension hooks (a cached parse that fails, say) leave the operation before extensions see them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.relay.types import InvalidGlobalIDError
from strawberry.types import ExecutionResult

from app.outages import outage_of, unavailable_error
from app.security.limits import TOO_MANY_TOKENS
from schema.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL_SERVER_ERROR,
    UNAUTHENTICATED,
    ApiError,
)
from services.errors import AccountClosed

logger = logging.getLogger("bountyexpo.graphql")
MASKED_MESSAGE = "Internal server error"


@dataclass(frozen=True)
class ErrorFormatter:
    mask_unexpected: bool
    # Production: "Did you mean ...?" in validation errors would spell out the schema.
    hide_suggestions: bool = False

    def apply(self, result: ExecutionResult, request_id: str) -> None:
        if result.errors:
            result.errors = [self.coded(error, request_id) for error in result.errors]

    def coded(self, error: GraphQLError, request_id: str) -> GraphQLError:
        original = error.original_error
        extensions = dict(error.extensions or {})
        message = error.message
        if isinstance(original, ApiError):
            extensions.update(original.extensions, code=original.code)
        elif isinstance(original, InvalidGlobalIDError):
            extensions["code"] = BAD_USER_INPUT
        elif isinstance(original, AccountClosed):
            extensions["code"], message = UNAUTHENTICATED, "sign in first"
        elif original is None and "code" in extensions:
            return error
        elif (outage := outage_of(original)) is not None:
            # PostgreSQL or Redis did not answer: retryable, logged without a traceback.
            logger.warning(
                "%s unavailable in %s (request %s): %r",
                outage.dependency,
                ".".join(map(str, error.path or ())) or "operation",
                request_id,
                original,
            )
            refusal = unavailable_error(outage, request_id)
            extensions = {"code": refusal.code, **refusal.extensions}
            message = refusal.message
        elif error.path is None and (original is None or isinstance(original, GraphQLError)):
            # graphql-core's own input errors (variables) wrap a GraphQLError of their own.
            extensions["code"] = _code_of_request_error(error)
            if self.hide_suggestions:
                message = without_suggestions(message)
        else:
            logger.error(
                "unexpected error in %s (request %s)",
                ".".join(map(str, error.path or ())) or "operation",
                request_id,
                exc_info=original or error,
            )
            extensions = {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}
            if self.mask_unexpected:
                message = MASKED_MESSAGE
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )


def without_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _code_of_request_error(error: GraphQLError) -> str:
    """Errors found before execution: the document does not parse, validate or fit its variables."""
    if "Document contains more than" in error.message and "tokens" in error.message:
        return TOO_MANY_TOKENS
    if error.message.startswith("Syntax Error"):
        return GRAPHQL_PARSE_FAILED
    if error.message.startswith("Variable '$"):
        return BAD_USER_INPUT
    return GRAPHQL_VALIDATION_FAILED
