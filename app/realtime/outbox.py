"""Sending frames to one socket without letting a slow socket hold up a whole group.

A group sends to its members one after another. A send that can complete at once (the usual
case: the transport is not paused) runs to completion inline, with no task; one that would wait
(the client reads too slowly and the transport paused writing) is finished by a task of that
socket's own, and later frames queue behind it, up to `BACKLOG_LIMIT`, past which the socket is
closed as too slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from app.realtime.frames import Frame

logger = logging.getLogger(__name__)

BACKLOG_LIMIT = 1_000
TOO_SLOW = 1013  # "try again later": the client may reconnect and resume from its cursor


def run_eagerly(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coroutine` until it first waits; None if it finished, else a task finishing it.

    Python 3.12's eager tasks do the same; this gateway still runs on 3.11.
    """
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_Resumed(coroutine, waiting_on).run())


class _Resumed:
    """Drives a coroutine that was started by hand, from the future it is waiting on."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    async def run(self) -> None:
        await _Await(self.coroutine, self.waiting_on)


class _Await:
    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, None, None]:
        waiting_on = self.waiting_on
        while True:
            try:
                yield waiting_on  # the task now waits on what the coroutine waited on
            except BaseException as error:  # cancellation: let the coroutine handle it
                try:
                    waiting_on = self.coroutine.throw(error)
                except StopIteration:
                    return
                continue
            try:
                waiting_on = self.coroutine.send(None)
            except StopIteration:
                return


class Outbox:
    """Frames (ASGI messages) to one socket, in order, never blocking the caller.

    `send` is the socket's raw ASGI send: frames skip Starlette's and strawberry's per-message
    work (state checks, JSON encoding), having been serialized once for the whole group.
    """

    __slots__ = ("_backlog", "_close", "_send", "_task", "closed")

    def __init__(
        self,
        send: Callable[[Frame], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
    ) -> None:
        self._send = send
        self._close = close
        self._backlog: deque[Frame] | None = None  # not None while a send is waiting
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    def put(self, frame: Frame) -> None:
        if self.closed:
            return
        if self._backlog is not None:
            if len(self._backlog) >= BACKLOG_LIMIT:
                self.closed = True
                self._backlog = None
                logger.warning("socket too slow: %d frames waiting; closing it", BACKLOG_LIMIT)
                run_eagerly(self._quietly(self._close(TOO_SLOW, "too slow: frames backed up")))
                return
            self._backlog.append(frame)
            return
        task = run_eagerly(self._deliver(frame))
        if task is not None:
            self._backlog = deque()
            self._task = task
            task.add_done_callback(self._drain)

    def _drain(self, _: asyncio.Task[None]) -> None:
        backlog, self._backlog, self._task = self._backlog, None, None
        while backlog and not self.closed:
            self.put(backlog.popleft())
            if self._backlog is not None:  # waiting again: keep the rest behind it
                self._backlog.extend(backlog)
                return

    async def _deliver(self, frame: Frame) -> None:
        try:
            await self._send(frame)
        except Exception:  # the socket went away: its handler cleans up on disconnect
            self.closed = True

    async def _quietly(self, sending: Awaitable[None]) -> None:
        try:
            await sending
        except Exception:
            self.closed = True

    async def aclose(self) -> None:
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
