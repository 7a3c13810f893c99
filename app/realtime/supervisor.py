"""Every open socket of this process, kept alive and re-checked by one task, not one per socket.

Each tick it pings the sockets whose ping is due (mobile networks drop idle sockets) and
re-checks the access tokens that are due: expiry locally, revocation in one denylist lookup for
all of them (from the in-memory copy, services/revocation_cache.py), closing revoked ones with
4403 and the reason, and with 1013 (try again later) when revocations cannot be checked. With
Redis it also refreshes the sockets' presence entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.monitoring import metrics
from app.realtime.frames import ping_frame
from app.realtime.outbox import Outbox, run_eagerly
from app.security.jwt import AccessClaims
from app.settings import Settings
from services.outages import DependencyUnavailable
from services.presence import TTL_SECONDS, Presence
from services.revocation import Denylist

logger = logging.getLogger(__name__)
CREDENTIALS_ENDED = 4403
TOO_MANY_SOCKETS = 4429
# RFC 6455 "Try Again Later": a dependency outage, not the client's fault; it reconnects.
TRY_AGAIN_LATER = 1013


@dataclass(eq=False)
class OpenSocket:
    protocol: str
    outbox: Outbox
    close: Callable[[int, str], Awaitable[None]]
    claims: AccessClaims | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    last_ping: float = 0.0
    last_check: float = 0.0
    registered: bool = False

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.claims.user_id if self.claims is not None else None


class Supervisor:
    def __init__(self, settings: Settings, denylist: Denylist, presence: Presence) -> None:
        self.settings = settings
        self.denylist = denylist
        self.presence = presence
        self.sockets: dict[str, OpenSocket] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_refresh = 0.0

    async def admit(self, socket: OpenSocket) -> bool:
        """Register an acknowledged socket; False (not registered) past the per-account cap."""
        user_id = socket.user_id
        if user_id is not None and not await self.presence.admit(
            user_id, socket.id, self.settings.ws_max_sockets_per_user
        ):
            return False
        now = asyncio.get_running_loop().time()
        socket.last_ping = socket.last_check = now
        self.sockets[socket.id] = socket
        socket.registered = True
        metrics.SOCKETS.labels(socket.protocol).inc()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="socket supervisor")
        return True

    async def remove(self, socket: OpenSocket) -> None:
        self.sockets.pop(socket.id, None)
        if not socket.registered:
            return
        socket.registered = False
        metrics.SOCKETS.labels(socket.protocol).dec()
        if socket.user_id is not None:
            await self.presence.leave(socket.user_id, socket.id)

    def _tick(self) -> float:
        settings = self.settings
        return min(settings.ws_ping_interval_seconds, settings.ws_auth_recheck_seconds, 1.0)

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(self._tick())
            try:
                await self.round(asyncio.get_running_loop().time())
            except Exception:
                logger.exception("socket supervision round failed")

    async def round(self, now: float) -> None:
        settings = self.settings
        due: list[OpenSocket] = []
        for socket in list(self.sockets.values()):
            if now - socket.last_ping >= settings.ws_ping_interval_seconds:
                socket.last_ping = now
                socket.outbox.put(ping_frame(socket.protocol))
            if socket.claims is not None and now - socket.last_check >= (
                settings.ws_auth_recheck_seconds
            ):
                socket.last_check = now
                due.append(socket)
        if due:
            await self._recheck(due)
        if now - self._last_refresh >= TTL_SECONDS / 3:
            self._last_refresh = now
            users = [(s.user_id, s.id) for s in self.sockets.values() if s.user_id is not None]
            await self.presence.refresh(users)

    async def _recheck(self, sockets: list[OpenSocket]) -> None:
        """One denylist lookup for every due socket, with `authenticate`'s rules."""
        now = datetime.now(UTC)
        live: list[OpenSocket] = []
        for socket in sockets:
            assert socket.claims is not None
            if socket.claims.expires_at <= now:
                self._end(socket, "access token expired")
            else:
                live.append(socket)
        keys = {key for socket in live if socket.claims for key in _keys(socket.claims)}
        if not keys:
            return
        try:
            revoked = await self.denylist.lookup(sorted(keys))
        except DependencyUnavailable as error:  # fail closed: these tokens cannot be checked
            for socket in live:
                self._end(socket, error.message, TRY_AGAIN_LATER)
            return
        for socket in live:
            claims = socket.claims
            assert claims is not None
            cutoff = revoked.get(f"user:{claims.user_id}")
            if (
                f"jti:{claims.token_id}" in revoked
                or f"sid:{claims.session_id}" in revoked
                or (
                    cutoff is not None
                    and claims.issued_at < math.floor(cutoff.timestamp() * 1000) / 1000
                )
            ):
                self._end(socket, "access token revoked")

    def _end(self, socket: OpenSocket, reason: str, code: int = CREDENTIALS_ENDED) -> None:
        self.sockets.pop(socket.id, None)
        run_eagerly(_close_quietly(socket, code, reason))

    async def close_all(self, code: int, reason: str) -> None:
        """Shutdown: every socket gets a close frame it understands (clients reconnect)."""
        for socket in list(self.sockets.values()):
            await _close_quietly(socket, code, reason)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


def _keys(claims: AccessClaims) -> list[str]:
    keys = [f"jti:{claims.token_id}", f"user:{claims.user_id}"]
    if claims.session_id is not None:
        keys.append(f"sid:{claims.session_id}")
    return keys


async def _close_quietly(socket: OpenSocket, code: int, reason: str) -> None:
    try:
        await socket.close(code, reason)
    except Exception:  # already gone
        logger.debug("socket already closed", exc_info=True)
