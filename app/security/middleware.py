"""The security middleware stack, in order: client address, headers, body size, rate limit."""

from __future__ import annotations

from collections.abc import Callable

from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.security.headers import BodyLimitMiddleware, SecurityHeadersMiddleware
from app.security.rate_limits import RateLimiter
from app.settings import Settings
from schema.errors import RATE_LIMITED

# Probes and scrapes are never limited: a load balancer must always reach them.
UNLIMITED_PREFIXES = ("/health", "/metrics")
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
        decision = await limiter.check("ip", client[0] if client else "unknown")
        if decision is None or decision.allowed:
            await self.app(scope, receive, send)
            return
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
