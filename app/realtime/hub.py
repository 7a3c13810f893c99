"""The hub: one per gateway process, holding the groups and the sockets adopted into them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import VariableNode
from strawberry import Schema

from app.broker import Broker
from app.monitoring import metrics
from app.realtime.frames import error_frames, next_frame
from app.realtime.group import Group, Member
from app.realtime.live import Live
from app.realtime.outbox import Outbox
from app.realtime.resolve import Selection, error_json, payload_json, resolve_event
from app.realtime.visibility import depends_on_identity
from schema.errors import FORBIDDEN, INTERNAL_SERVER_ERROR
from services.viewer import Viewer

logger = logging.getLogger(__name__)


@dataclass
class Adoption:
    """A socket handler's offer of one operation to the hub (see `live.ADOPTION`)."""

    hub: Hub
    outbox: Outbox
    protocol: str
    operation_id: str
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    # Called when the hub ends the operation (its last frame sent): the handler forgets the id.
    on_end: Callable[[str], None]
    member: Member | None = None


class Hub:
    def __init__(
        self,
        schema: Schema,
        broker: Broker,
        context_for: Callable[[Viewer | None], Any],
        errors: Any = None,
    ) -> None:
        self.schema = schema
        self.broker = broker
        self.context_for = context_for  # a fresh per-event Context (its own DataLoaders)
        self.errors = errors  # the schema's ErrorFormatter: coded, masked errors
        self.groups: dict[tuple[Any, ...], Group] = {}

    async def join(self, adoption: Adoption, info: Any, live: Live) -> Member:
        viewer: Viewer | None = info.context.viewer
        selection = Selection.of(self.schema, info, adoption.variables)
        key = self._key(adoption, info, live, selection, viewer)
        member = Member(
            adoption.outbox, adoption.protocol, adoption.operation_id, viewer, adoption.on_end
        )
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(self, key, live, selection)
            metrics.REALTIME_GROUPS.inc()
            try:
                await group.start()
            except BaseException:
                self._drop(group)
                raise
        else:
            await group.ready.wait()
        replaying = live.replay is not None and live.start is not None
        if replaying:
            member.buffer = []
        group.add(member)
        adoption.member = member  # from here on the hub serves the operation
        if replaying:
            try:
                await self._replay(member, live, selection)
            except BaseException:  # the operation fails as a whole: the handler completes it
                self.leave(member)
                raise
        return member

    async def _replay(self, member: Member, live: Live, selection: Selection) -> None:
        """The member's missed events, resolved for it alone; then its buffered live frames."""
        assert live.replay is not None
        assert live.start is not None
        member.position = live.start
        async for event in live.replay(live.start):
            if member.ended:
                return
            position = live.position(event) if live.position is not None else None
            root = live.to_root(event)
            if root is not None and live.allowed(event, member.viewer):
                payload = await self.payload(selection, root, member.viewer)
                member.outbox.put(next_frame(member.protocol, member.operation_id, payload))
            if position is not None:
                member.position = position
        buffered, member.buffer = member.buffer or [], None
        for position, frame in buffered:  # no await from here on: nothing can slip between
            if position is None or member.position is None or position > member.position:
                member.outbox.put(frame)

    async def payload(self, selection: Selection, root: Any, viewer: Viewer | None) -> str:
        result = await resolve_event(selection, root, self.context_for(viewer))
        return payload_json(result, self.errors)

    def leave(self, member: Member) -> None:
        """The client stopped the operation, or its socket closed."""
        member.ended = True
        group = member.group
        if group is not None and group.remove(member):
            self._drop(group)

    def end(self, member: Member, message: str, code: str = FORBIDDEN) -> None:
        """End one member's operation with an error (it may no longer see this stream)."""
        if member.ended:
            return
        self.leave(member)
        for frame in error_frames(member.protocol, member.operation_id, error_json(message, code)):
            member.outbox.put(frame)
        member.on_end(member.operation_id)

    def fail(self, group: Group, message: str) -> None:
        for member in list(group.members):
            self.end(member, message, INTERNAL_SERVER_ERROR)
        self._drop(group)

    def _drop(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]
            metrics.REALTIME_GROUPS.dec()
        if group.task is not None and group.task is not asyncio.current_task():
            group.task.cancel()  # leaving its broker subscription in its own finally

    async def close(self) -> None:
        for group in list(self.groups.values()):
            self._drop(group)
            await group.stop()

    def _key(
        self,
        adoption: Adoption,
        info: Any,
        live: Live,
        selection: Selection,
        viewer: Viewer | None,
    ) -> tuple[Any, ...]:
        """Same document, same variables (the resume cursor aside), same visibility."""
        variables = dict(adoption.variables or {})
        cursor = _cursor_variable(info, live.resume_argument)
        if cursor is not None:
            variables.pop(cursor, None)
        identity = None
        if depends_on_identity(self.schema, adoption.query, selection.document):
            identity = viewer.user_id if viewer is not None else "anonymous"
        return (
            adoption.query,
            adoption.operation_name,
            orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
            live.field,
            live.topic,
            live.access,
            identity,
            live.extra_key,
        )


def _cursor_variable(info: Any, argument: str | None) -> str | None:
    if argument is None:
        return None
    # A field written without arguments has `arguments` None in graphql-core's AST.
    for node in info._raw_info.field_nodes[0].arguments or ():
        if node.name.value == argument and isinstance(node.value, VariableNode):
            return str(node.value.name.value)
    return None
