"""Reading metric values in tests: counters are process-wide, so tests compare deltas."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import REGISTRY
from starlette.applications import Starlette


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Deltas:
    def __init__(self, *keys: tuple[str, dict[str, str]]) -> None:
        self.keys = keys
        self.before = [value(name, **labels) for name, labels in keys]
        self.after: list[float] = []

    def __getitem__(self, index: int) -> float:
        return self.after[index] - self.before[index]

    def all(self) -> list[float]:
        return [after - before for after, before in zip(self.after, self.before, strict=True)]


@contextmanager
def deltas(*keys: tuple[str, dict[str, str]]) -> Iterator[Deltas]:
    """Changes of the given samples while the block runs."""
    measured = Deltas(*keys)
    yield measured
    measured.after = [value(name, **labels) for name, labels in keys]


@contextlib.asynccontextmanager
async def fresh_app(database_url: str, **overrides: Any) -> AsyncIterator[AppClient]:
    """An app of its own, started now: its monitoring (snapshot baseline, alert state) holds
    only what happens from here on, unlike the session-wide `app`, whose windows hold whatever
    earlier tests did (payments they declined, 5xx they provoked)."""
    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(
        make_settings(database_url=database_url, **overrides), database_url=database_url
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield AppClient(app, client)


@dataclass(frozen=True)
class AppClient:
    app: Starlette
    client: httpx.AsyncClient


@contextmanager
def bounded_labels_restored() -> Iterator[None]:
    """Give back the slots of the process-wide bounded labels (`metrics.BoundedLabel`: the
    first 500 operation names, 100 Redis commands, ...) that the block used up. A suite that
    sends thousands of generated documents (each anonymous one a new `anonymous:<hash>` name)
    fills them, and every later test in the session would see its operations counted and its
    spans named `other`."""
    from app.monitoring import metrics

    labels = [label for label in vars(metrics).values() if isinstance(label, metrics.BoundedLabel)]
    seen = [set(label._seen) for label in labels]
    try:
        yield
    finally:
        for label, before in zip(labels, seen, strict=True):
            with label._lock:
                label._seen = before
