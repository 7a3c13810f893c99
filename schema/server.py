"""What the client is talking to."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class Environment(Enum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


@strawberry.type(description="The gateway answering this request.")
class ServerInfo:
    version: str = strawberry.field(description="The gateway's release (PEP 440).")
    environment: Environment
