"""Frames of both WebSocket protocols around a payload serialized once per event.

Frames are ASGI `websocket.send` messages, built once and sent as they are to every socket of
a group (nothing downstream changes a message it sends).
"""

from __future__ import annotations

from typing import Any

import orjson

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
Frame = dict[str, Any]


def frame(text: str) -> Frame:
    return {"type": "websocket.send", "text": text}


_PINGS = {TRANSPORT_WS: frame('{"type":"ping"}'), LEGACY_WS: frame('{"type":"ka"}')}


def next_frame(protocol: str, operation_id: str, payload: str) -> Frame:
    """A result frame: `next` (graphql-transport-ws) or `data` (legacy), by string joining."""
    quoted = orjson.dumps(operation_id).decode()
    if protocol == TRANSPORT_WS:
        return frame('{"id":' + quoted + ',"type":"next","payload":' + payload + "}")
    return frame('{"type":"data","id":' + quoted + ',"payload":' + payload + "}")


def error_frames(protocol: str, operation_id: str, errors: list[dict[str, Any]]) -> list[Frame]:
    """What ends an operation with errors: `error` (terminal in graphql-transport-ws), or the
    legacy protocol's `error` followed by `complete`."""
    if protocol == TRANSPORT_WS:
        error = {"id": operation_id, "type": "error", "payload": errors}
        return [frame(orjson.dumps(error).decode())]
    return [
        frame(orjson.dumps({"type": "error", "id": operation_id, "payload": errors[0]}).decode()),
        frame(orjson.dumps({"type": "complete", "id": operation_id}).decode()),
    ]


def ping_frame(protocol: str) -> Frame:
    return _PINGS[protocol]
