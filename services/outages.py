"""A dependency that did not answer: what a service raises so clients are told to retry.

The gateway turns these (and PostgreSQL's own connection errors, app/outages.py) into
`SERVICE_UNAVAILABLE` with `retryAfter`, never into `INTERNAL_SERVER_ERROR`.
"""

from __future__ import annotations

DEFAULT_RETRY_AFTER_SECONDS = 5


class DependencyUnavailable(Exception):
    """`dependency` ("postgres", "redis") could not be reached; retrying later may succeed."""

    def __init__(
        self, dependency: str, message: str, *, retry_after: int = DEFAULT_RETRY_AFTER_SECONDS
    ) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.message = message
        self.retry_after = retry_after
