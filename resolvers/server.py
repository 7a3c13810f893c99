"""Root fields about the gateway itself."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.server import ServerInfo


@strawberry.type
class ServerQueries:
    @strawberry.field(description="Version and environment of the gateway; needs no sign-in.")
    def server_info(self, info: Info) -> ServerInfo:
        settings = info.context.settings
        return ServerInfo(version=settings.version, environment=settings.environment)
