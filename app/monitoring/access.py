"""Who may read the monitoring endpoints: METRICS_TOKEN bearers, or METRICS_ALLOWED_NETWORKS.

Behind a reverse proxy the client address is the proxy's unless uvicorn trusts it
(`--forwarded-allow-ips`); prefer the token there.
"""

from __future__ import annotations

import hmac
from functools import cached_property
from ipaddress import ip_address, ip_network

from starlette.requests import Request

from app.settings import Settings


class MetricsAccess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def networks(self) -> list[object]:
        return [
            ip_network(network, strict=False) for network in self.settings.metrics_allowed_networks
        ]

    def allows(self, request: Request) -> bool:
        token = self.settings.metrics_token
        presented = request.headers.get("authorization", "")
        if token is not None and presented.lower().startswith("bearer "):
            expected = token.get_secret_value().encode()
            if hmac.compare_digest(presented[7:].strip().encode(), expected):
                return True
        host = request.client.host if request.client else ""
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)  # type: ignore[operator]
