"""Frames of both WebSocket protocols around a payload serialized once per event."""

from __future__ import annotations

from typing import Any

import orjson

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


def next_frame(protocol: str, operation_id: str, payload: str) -> str:
    """A result frame: `next` (graphql-transport-ws) or `data` (legacy), by string joining."""
    quoted = orjson.dumps(operation_id).decode()
    if protocol == TRANSPORT_WS:
        return '{"id":' + quoted + ',"type":"next","payload":' + payload + "}"
    return '{"type":"data","id":' + quoted + ',"payload":' + payload + "}"


def error_frames(protocol: str, operation_id: str, errors: list[dict[str, Any]]) -> list[str]:
    """What ends an operation with errors: `error` (terminal in graphql-transport-ws), or the
    legacy protocol's `error` followed by `complete`."""
    if protocol == TRANSPORT_WS:
        return [orjson.dumps({"id": operation_id, "type": "error", "payload": errors}).decode()]
    return [
        orjson.dumps({"type": "error", "id": operation_id, "payload": errors[0]}).decode(),
        orjson.dumps({"type": "complete", "id": operation_id}).decode(),
    ]


def ping_frame(protocol: str) -> str:
    return '{"type":"ping"}' if protocol == TRANSPORT_WS else '{"type":"ka"}'
