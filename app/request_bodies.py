"""Untrusted request bodies, decoded strictly and checked before anything runs.

Every byte sequence gets an answer a client can act on, never a 500: the body must be UTF-8 JSON
(orjson: no NaN or Infinity, no BOM, no lone surrogates, a depth limit of its own, numbers past
a double refused), an object (or, with batching, an array of objects) whose `query` is a string,
`variables` and `extensions` objects and `operationName` a string, and nested at most
MAX_JSON_DEPTH deep. Variables are limited in number and encoded size (MAX_VARIABLES,
MAX_VARIABLES_BYTES): the body limit alone let 100,000 unused variables through.

The same checks apply to WebSocket messages (`message_problem`), where strawberry would
otherwise fail with a TypeError and close the socket with 1011.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from app.settings import Settings

# No document of ours nests variables anywhere near this; orjson stops at 1,024 by itself.
MAX_JSON_DEPTH = 64


class BodyError(ValueError):
    """The request body cannot be run; the message says why (answered with 400)."""


class JSONTooDeep(json.JSONDecodeError):
    """A JSONDecodeError, so strawberry's WebSocket adapter answers it as it does bad JSON."""


def decode_json(data: str | bytes) -> object:
    """JSON as RFC 8259 has it, at most MAX_JSON_DEPTH deep; raises json.JSONDecodeError."""
    value = orjson.loads(data)
    if json_depth(value) > MAX_JSON_DEPTH:
        document = data if isinstance(data, str) else ""
        raise JSONTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", document, 0)
    return value


def json_depth(value: object) -> int:
    """Nesting depth of decoded JSON, without recursion (a scalar is 0, `[]` is 1)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return deepest
        pending.extend((child, depth) for child in children)
    return deepest


def parse_body(data: str | bytes) -> object:
    """The decoded body, or BodyError with what is wrong with it."""
    try:
        return decode_json(data)
    except JSONTooDeep as error:
        raise BodyError(f"The request body is {error.msg}.") from error
    except json.JSONDecodeError as error:
        raise BodyError(f"The request body is not valid JSON: {error.msg}.") from error


@dataclass(frozen=True)
class VariableLimits:
    count: int
    encoded_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> VariableLimits:
        return cls(count=settings.max_variables, encoded_bytes=settings.max_variables_bytes)


def operation_problem(
    data: object, limits: VariableLimits, *, where: str = "request"
) -> str | None:
    """What makes `data` (one operation: a body, a batch item, a subscribe payload) unusable."""
    if not isinstance(data, dict):
        return f"Each GraphQL {where} must be a JSON object."
    query = data.get("query")
    if query is not None and not isinstance(query, str):
        return "The GraphQL operation's `query` must be a string."
    if data.get("operationName") is not None and not isinstance(data["operationName"], str):
        return "The GraphQL operation's `operationName` must be a string or null."
    for name in ("variables", "extensions"):
        if data.get(name) is not None and not isinstance(data[name], dict):
            return f"The GraphQL operation's `{name}` must be an object or null."
    variables = data.get("variables")
    if isinstance(variables, Mapping):
        return variables_problem(variables, limits)
    return None


def variables_problem(variables: Mapping[str, object], limits: VariableLimits) -> str | None:
    if len(variables) > limits.count:
        return f"The operation has {len(variables)} variables; at most {limits.count} are allowed."
    size = len(orjson.dumps(variables, default=_uploaded_file))
    if size > limits.encoded_bytes:
        return (
            f"The operation's variables take {size} bytes; at most {limits.encoded_bytes} "
            "are allowed."
        )
    return None


def message_problem(message: object, limits: VariableLimits) -> str | None:
    """What makes a WebSocket message (either protocol) unusable, before strawberry reads it."""
    if not isinstance(message, dict):
        return "WebSocket messages must be JSON objects"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "WebSocket messages need a string `type`"
    if kind in ("subscribe", "start", "complete", "stop") and not isinstance(
        message.get("id"), str
    ):
        return f"A `{kind}` message needs a string `id`"
    if kind in ("subscribe", "start"):
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return f"A `{kind}` payload must be an object with a string `query`"
        return operation_problem(payload, limits, where="payload")
    return None


def _uploaded_file(value: object) -> None:
    """Multipart uploads sit in the variables as files: their bytes have a limit of their own."""
