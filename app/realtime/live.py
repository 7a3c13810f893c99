"""What a subscription root field tells the realtime layer, and the two ways it is served.

A root field authorizes the subscriber, then returns `subscription(info, live)`:
- over our WebSocket handlers the socket is *adopted*: it joins a group of the `Hub` and the
  field returns an empty stream (the group sends frames to the socket from then on);
- over any other transport the same `Live` runs as a plain per-subscriber generator.
Both replay a stored stream after the client's cursor first, then continue live without gap or
duplicate (events carry their position in the stream), and check every event with `allowed`.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from dataclasses import field as default
from typing import TYPE_CHECKING, Any

from app.broker import Event
from schema.errors import FORBIDDEN, ApiError
from services.viewer import Viewer

if TYPE_CHECKING:
    from app.realtime.hub import Adoption

Replay = Callable[[int], AsyncIterator[Event]]


def _everyone(event: Event, viewer: Viewer | None) -> bool:
    return True


@dataclass(frozen=True)
class Live:
    field: str  # the root field, e.g. "messageAdded"
    topic: str
    # The subscriber's access class, from subscribe-time authorization ("participant",
    # "poster", "staff", ...): sockets of one class see the same data and may share a group.
    access: str
    # The object the selection resolves against; None for events this field does not show.
    to_root: Callable[[Event], Any]
    # Checked on every event; False ends the subscription with FORBIDDEN and `denied`.
    allowed: Callable[[Event, Viewer | None], bool] = _everyone
    denied: str = "you may no longer follow this"
    # Stored streams: an event's position, the events after a position (in order), the newest
    # position now, and where the client asked to resume (None: live only).
    position: Callable[[Event], int | None] | None = None
    replay: Replay | None = None
    head: Callable[[], Awaitable[int]] | None = None
    start: int | None = None
    # The argument holding the client's cursor: not part of the group key.
    resume_argument: str | None = None
    # Extra group-key parts beyond document, variables and access (rarely needed).
    extra_key: tuple[Any, ...] = default(default_factory=tuple)


# Set by our socket handlers around an operation they offer to the hub.
ADOPTION: contextvars.ContextVar[Adoption | None] = contextvars.ContextVar(
    "bountyexpo_adoption", default=None
)


async def subscription(info: Any, live: Live) -> AsyncGenerator[Any, None]:
    adoption = ADOPTION.get()
    if adoption is not None and adoption.member is None:
        await adoption.hub.join(adoption, info, live)
        return _nothing()
    return per_subscriber(info.context.broker, info.context.viewer, live)


async def _nothing() -> AsyncGenerator[Any, None]:
    return
    yield  # an async generator that ends at once


async def per_subscriber(
    broker: Any, viewer: Viewer | None, live: Live
) -> AsyncGenerator[Any, None]:
    """The same semantics without the hub, for transports other than our WebSocket handlers."""
    async with broker.subscribe(live.topic) as events:
        seen = live.start
        if live.replay is not None and live.start is not None:
            async for event in live.replay(live.start):
                seen = _position(live, event, seen)
                if live.allowed(event, viewer) and (root := live.to_root(event)) is not None:
                    yield root
        async for event in events:
            if event.get("kind") == "brokerReconnected":
                if live.replay is not None and seen is not None:
                    async for missed in live.replay(seen):
                        seen = _position(live, missed, seen)
                        if (root := live.to_root(missed)) is not None:
                            yield root
                continue
            if not live.allowed(event, viewer):
                raise ApiError(live.denied, FORBIDDEN)
            position = live.position(event) if live.position is not None else None
            if position is not None and seen is not None and position <= seen:
                continue  # replayed already
            seen = _position(live, event, seen)
            root = live.to_root(event)
            if root is not None:
                yield root


def _position(live: Live, event: Event, seen: int | None) -> int | None:
    position = live.position(event) if live.position is not None else None
    if position is None:
        return seen
    return position if seen is None else max(seen, position)
