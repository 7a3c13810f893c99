"""The realtime parts of one gateway process, built in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import strawberry

from app.realtime.hub import Hub
from app.realtime.supervisor import Supervisor
from schema.context import Context
from services.loaders import create_loaders
from services.presence import Presence
from services.viewer import Viewer

if TYPE_CHECKING:
    from app.graphql import GatewayView

SERVICE_RESTART = 1012  # clients reconnect (and resume from their cursors)


@dataclass
class Realtime:
    hub: Hub
    supervisor: Supervisor

    async def close(self) -> None:
        await self.supervisor.close_all(SERVICE_RESTART, "server restarting")
        await self.hub.close()


def build_realtime(view: GatewayView, presence: Presence) -> Realtime:
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
