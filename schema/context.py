"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import strawberry

from app.broker import Broker
from app.db.engine import SessionFactory
from app.public_url import public_base_url
from app.settings import Settings
from services.identity import Identity
from services.loaders import Loaders
from services.viewer import Viewer

if TYPE_CHECKING:
    from app.security.guard import Security


@dataclass
class Context:
    settings: Settings
    session_factory: SessionFactory
    broker: Broker
    loaders: Loaders
    # Autocommit sessions for reads (no BEGIN/ROLLBACK round trips); None: `session_factory`.
    read_session_factory: SessionFactory | None = None
    viewer: Viewer | None = None
    request_id: str = ""
    # Why the presented credentials were refused; the operation is then refused as UNAUTHENTICATED.
    credentials_error: str | None = None
    # Set when authentication could not be checked (a dependency outage): refused with 503.
    outage: Exception | None = None
    # Set once a unit of work got as far as committing: a later outage may follow a write.
    wrote: bool = False
    # Set by strawberry from the WebSocket `connection_init` payload.
    connection_params: dict[str, Any] | None = None
    # The socket's access token, re-checked while the socket lives (app/sockets.py).
    access_token: str | None = None
    # The HTTP request or WebSocket, for headers and the client address.
    request: Any = field(default=None, repr=False)
    response: Any = field(default=None, repr=False)
    # Denylist, throttle, mail and media: what identity services need beyond the session.
    identity: Identity | None = field(default=None, repr=False)
    # Rate limiter and persisted operations (app/security/guard.py).
    security: Security | None = field(default=None, repr=False)
    # Worked out on first use (app/public_url.py): most requests return no media.
    _public_base_url: str | None = field(default=None, repr=False)

    @property
    def reads(self) -> SessionFactory:
        """Autocommit sessions: for statements that only read, and for a write that is one
        statement, atomic by itself (`trackEvents`' INSERT): no BEGIN/COMMIT round trips."""
        return self.read_session_factory or self.session_factory

    def media_url(self, key: str) -> str:
        """The absolute URL of stored media `key` (an avatar, a bounty image)."""
        if self._public_base_url is None:
            self._public_base_url = public_base_url(self.settings, self.request)
        return f"{self._public_base_url}/media/{key}"


Info = strawberry.Info[Context, None]
