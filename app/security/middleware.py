"""The security middleware stack, in order: client address, headers, body size, rate limit."""

from __future__ import annotations

from collections.abc import Callable

from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.security.headers import BodyLimitMiddleware, SecurityHeadersMiddleware
from app.security.rate_limits import ADDRESS_LIMIT, AddressLimit, RateLimiter
from app.settings import Settings
from schema.errors import RATE_LIMITED
from services.throttle import Decision

# Probes and scrapes are never limited: a load balancer must always reach them.
UNLIMITED_PREFIXES = ("/health", "/metrics")
# Requests whose `ip` unit the operation guard takes with the user's (app/security/guard.py).
GRAPHQL_PATH = "/graphql"
WEBSOCKET_TRY_AGAIN_LATER = 1013


def security_middleware(
    settings: Settings, limiter: Callable[[], RateLimiter | None]
) -> list[Middleware]:
    stack = []
    if settings.trusted_proxies:
        # X-Forwarded-For / -Proto are believed only from these peers (addresses or CIDR blocks);
        # everyone else's client address is the socket's.
        stack.append(
            Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
        )
    return [
        *stack,
        Middleware(SecurityHeadersMiddleware, settings=settings),
        Middleware(BodyLimitMiddleware, settings=settings),
        Middleware(RateLimitMiddleware, limiter=limiter),
    ]


class RateLimitMiddleware:
    """The `ip` bucket: every HTTP request and WebSocket handshake, per client address."""

    def __init__(self, app: ASGIApp, limiter: Callable[[], RateLimiter | None]) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limiter()
        if (
            limiter is None
            or scope["type"] not in ("http", "websocket")
            or scope["path"].startswith(UNLIMITED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client[0] if client else "unknown"
        if scope["type"] == "http" and scope["path"] == GRAPHQL_PATH and limiter.enabled:
            # Taken by the guard with the user's bucket, or when the response starts.
            address = AddressLimit(key)
            scope[ADDRESS_LIMIT] = address
            await self.app(scope, receive, self._settling(limiter, address, scope, receive, send))
            return
        decision = await limiter.check("ip", key)
        if decision is None or decision.allowed:
            await self.app(scope, receive, send)
            return
        await refuse(decision, scope, receive, send)

    @staticmethod
    def _settling(
        limiter: RateLimiter, address: AddressLimit, scope: Scope, receive: Receive, send: Send
    ) -> Send:
        """`send`, taking the address's unit at the response's start if nothing took it yet,
        and answering 429 instead of the response when the address is refused."""

        async def settled(message: Message) -> None:
            if message["type"] == "http.response.start":
                key = address.take()
                if key is not None:
                    decision = await limiter.check("ip", key)
                    if decision is not None and not decision.allowed:
                        address.refusal = decision
                if address.refusal is not None:
                    await refuse(address.refusal, scope, receive, send)
                    return
            elif address.refusal is not None:
                return  # the refused response's body: the 429 was sent instead
            await send(message)

        return settled


async def refuse(decision: Decision, scope: Scope, receive: Receive, send: Send) -> None:
    """The `ip` bucket's refusal: 429 with Retry-After, or close a WebSocket handshake."""
    seconds = decision.retry_after_seconds
    if scope["type"] == "websocket":
        await send(
            {
                "type": "websocket.close",
                "code": WEBSOCKET_TRY_AGAIN_LATER,
                "reason": "rate limited",
            }
        )
        return
    error = {
        "message": f"too many requests from this address; retry in {seconds} s",
        "extensions": {"code": RATE_LIMITED, "retryAfter": seconds},
    }
    response = JSONResponse(
        {"errors": [error]}, status_code=429, headers={"Retry-After": str(seconds)}
    )
    await response(scope, receive, send)
