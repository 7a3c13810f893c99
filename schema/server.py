"""What the client is talking to."""

from __future__ import annotations

import strawberry

from app.settings import Environment

strawberry.enum(Environment)


@strawberry.type(description="The gateway answering this request.")
class ServerInfo:
    version: str = strawberry.field(description="The gateway's release (PEP 440).")
    environment: Environment
