"""Reading metric values in tests: counters are process-wide, so tests compare deltas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY


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
