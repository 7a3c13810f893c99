"""The realtime parts of one gateway process, built in the app's lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import strawberry

from app.broker import Broker
from app.db.engine import SessionFactory
from app.realtime.hub import Hub
from app.realtime.supervisor import Supervisor
from app.security.guard import Security
from app.settings import Settings
from schema.context import Context
from services.identity import Identity
from services.loaders import Batch, create_loaders
from services.presence import Presence
from services.viewer import Viewer

SERVICE_RESTART = 1012  # clients reconnect (and resume from their cursors)


@dataclass
class Realtime:
    hub: Hub
    supervisor: Supervisor

    async def close(self) -> None:
        await self.supervisor.close_all(SERVICE_RESTART, "server restarting")
        await self.hub.close()


class RealtimeHost(Protocol):
    """What the realtime parts take from the view that builds them (app/graphql.py's), named
    here so that nothing under app/realtime or app/sockets imports the view's module."""

    settings: Settings
    session_factory: SessionFactory
    broker: Broker
    identity: Identity
    security: Security

    @property
    def loader_batches(self) -> Mapping[str, Batch]: ...

    @property
    def schema(self) -> object: ...


def build_realtime(view: RealtimeHost, presence: Presence) -> Realtime:
    def context_for(viewer: Viewer | None) -> Context:
        """What a group's event resolution sees: the viewer, fresh loaders, no request."""
        context = Context(
            settings=view.settings,
            session_factory=view.session_factory,
            broker=view.broker,
            loaders=create_loaders(view.loader_batches),
            viewer=viewer,
            identity=view.identity,
        )
        context.security = view.security
        return context

    schema = view.schema
    assert isinstance(schema, strawberry.Schema)
    hub = Hub(schema, view.broker, context_for, getattr(schema, "errors", None))
    supervisor = Supervisor(view.settings, view.identity.denylist, presence)
    return Realtime(hub, supervisor)
