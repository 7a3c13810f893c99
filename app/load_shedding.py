"""Load shedding: a bound on HTTP requests in flight per process, with a short queue.

Past its capacity a process that keeps accepting work only makes every request slow (the issue's
seed profile: p95 about 8 s and timeouts at the peak). This middleware serves at most
`SHED_MAX_IN_FLIGHT` HTTP requests at once; the next `SHED_QUEUE_SIZE` wait up to
`SHED_QUEUE_TIMEOUT_SECONDS` for a slot, in arrival order; anything beyond is answered at once
with 503, `Retry-After` and a GraphQL-shaped `SERVICE_UNAVAILABLE` error, so clients back off and
the requests that are accepted stay fast. Probes and scrapes (`/health*`, `/metrics*`) are never
shed or counted, and neither are WebSocket sockets (long-lived; capped per user elsewhere).
Dependency outages (database, Redis) are answered elsewhere; this module knows only about load.
"""

from __future__ import annotations

import asyncio
import collections

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.monitoring.metrics import record_shed_request
from app.settings import Settings

EXEMPT_PREFIXES = ("/health", "/metrics")
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class Admission:
    """At most `limit` holders; up to `queue_size` waiters served first come, first served."""

    def __init__(self, limit: int, queue_size: int) -> None:
        self.limit = limit
        self.queue_size = queue_size
        self.in_flight = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def acquire(self, max_wait: float) -> str | None:
        """None once admitted (call `release` later), else why not: `queue_full`/`queue_timeout`."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return None
        if len(self._waiters) >= self.queue_size:
            return "queue_full"
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), max_wait)
        except TimeoutError:
            if waiter.done():  # handed a slot just as the wait ran out: keep it
                return None
            self._waiters.remove(waiter)
            return "queue_timeout"
        except asyncio.CancelledError:
            if waiter.done():
                self.release()  # the slot was handed over: pass it on
            else:
                self._waiters.remove(waiter)
            raise
        return None

    def release(self) -> None:
        """Hand the slot to the oldest waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # in_flight unchanged: the slot moves to the waiter
                return
        self.in_flight -= 1


class LoadSheddingMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.admission = Admission(settings.shed_max_in_flight, settings.shed_queue_size)
        self.timeout = settings.shed_queue_timeout_seconds
        self.retry_after = settings.shed_retry_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        refused = await self.admission.acquire(self.timeout)
        if refused is not None:
            record_shed_request(refused)
            await self._refuse(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except ClientDisconnect:
            # The client gave up (a timeout on its side) while its request waited or ran. Under
            # overload that is thousands of requests: answer 499 (nginx's "client closed
            # request", which goes nowhere) rather than let each be logged and counted as a 500.
            if not started:
                await send({"type": "http.response.start", "status": 499, "headers": []})
                await send({"type": "http.response.body", "body": b""})
        finally:
            self.admission.release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        seconds = self.retry_after
        error = {
            "message": f"the server is overloaded; retry in {seconds} s",
            "extensions": {"code": SERVICE_UNAVAILABLE, "retryAfter": seconds},
        }
        response = JSONResponse(
            {"errors": [error]}, status_code=503, headers={"Retry-After": str(seconds)}
        )
        await response(scope, receive, send)
