"""A group: the sockets that share one subscription document, variables and visibility.

It holds the one broker subscription, authorizes every event against each member's viewer,
resolves the event once (`resolve_event`), serializes it once and puts the same frame into
every member's outbox. Members whose client is replaying missed events buffer live frames until
the replay has caught up, so nothing arrives twice or out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.broker import PUBLISHED_AT, Event
from app.monitoring import metrics
from app.realtime.frames import Frame, next_frame
from app.realtime.live import Live, _everyone
from app.realtime.outbox import Outbox
from app.realtime.resolve import Selection
from services.viewer import Viewer

if TYPE_CHECKING:
    from app.realtime.hub import Hub

logger = logging.getLogger(__name__)
# Sends between yields to the event loop: other sockets and requests run during a big fan-out.
FANOUT_SLICE = 256


class Member:
    """One socket's subscription in a group: a few slots, no task."""

    __slots__ = (
        "buffer",
        "ended",
        "group",
        "on_end",
        "operation_id",
        "outbox",
        "position",
        "protocol",
        "viewer",
    )

    def __init__(
        self,
        outbox: Outbox,
        protocol: str,
        operation_id: str,
        viewer: Viewer | None,
        on_end: Callable[[str], None],
    ) -> None:
        self.outbox = outbox
        self.protocol = protocol
        self.operation_id = operation_id
        self.viewer = viewer
        self.on_end = on_end
        self.group: Group | None = None
        # While replaying: live frames wait here with their stream position.
        self.buffer: list[tuple[int | None, Frame]] | None = None
        self.position: int | None = None
        self.ended = False


class Group:
    def __init__(self, hub: Hub, key: tuple[Any, ...], live: Live, selection: Selection) -> None:
        self.hub = hub
        self.key = key
        self.live = live
        self.selection = selection
        self.members: dict[Member, None] = {}  # insertion-ordered set
        self.position: int | None = None  # the newest stream position delivered
        self.baseline: int | None = None  # the stream's head when the group started
        self.ready = asyncio.Event()
        self.failure: BaseException | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"group {self.live.field}")
        await self.ready.wait()
        if self.failure is not None:
            raise self.failure

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task

    def add(self, member: Member) -> None:
        member.group = self
        self.members[member] = None

    def remove(self, member: Member) -> bool:
        """Forget `member`; True when the group is now empty."""
        self.members.pop(member, None)
        return not self.members

    async def _run(self) -> None:
        try:
            async with self.hub.broker.subscribe(self.live.topic) as events:
                if self.live.head is not None:
                    self.baseline = await self.live.head()
                self.ready.set()
                async for event in events:
                    try:
                        await self.deliver(event)
                    except Exception:
                        logger.exception("event on %s not delivered", self.live.topic)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.failure = error
            self.ready.set()
            logger.exception("group on %s stopped", self.live.topic)
            self.hub.fail(self, "live updates are unavailable; subscribe again")

    async def deliver(self, event: Event) -> None:
        if event.get("kind") == "brokerReconnected":
            await self._catch_up()
            return
        live = self.live
        if live.allowed is not _everyone:
            for member in [m for m in self.members if not live.allowed(event, m.viewer)]:
                self.hub.end(member, live.denied)
        position = live.position(event) if live.position is not None else None
        if position is not None and self.position is not None and position <= self.position:
            return  # delivered already (a catch-up overlapped the live stream)
        root = live.to_root(event)
        if root is None or not self.members:
            return
        viewer = next(iter(self.members)).viewer  # every member sees the same: any will do
        payload = await self.hub.payload(self.selection, root, viewer)
        if position is not None:
            self.position = position
        await self._send_all(payload, position, event.get(PUBLISHED_AT))

    async def _send_all(self, payload: str, position: int | None, published: Any) -> None:
        frames: dict[tuple[str, str], Frame] = {}
        members = list(self.members)
        for count, member in enumerate(members, 1):
            key = (member.protocol, member.operation_id)
            frame = frames.get(key)
            if frame is None:
                frame = frames[key] = next_frame(member.protocol, member.operation_id, payload)
            if member.buffer is not None:
                member.buffer.append((position, frame))
            else:
                member.outbox.put(frame)
            if count % FANOUT_SLICE == 0:
                await asyncio.sleep(0)
        metrics.record_deliveries(self.live.field, len(members), published)

    async def _catch_up(self) -> None:
        """After the broker lost its connection: replay what the stream got meanwhile."""
        since = self.position if self.position is not None else self.baseline
        if self.live.replay is None or since is None:
            return
        async for event in self.live.replay(since):
            await self.deliver(event)
