"""PgQueuer entrypoints and schedules, one module per domain; see `workers.registry`."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from workers.registry import Registry, Selection

# Every domain module that declares jobs; each holds a `jobs = Registry("<domain>")`.
DOMAIN_MODULES = (
    "workers.system",
    "workers.bounties",
    "workers.realtime",
    "workers.notifications",
    "workers.analytics",
    "workers.risk",
    "workers.payments",
    "workers.payment_methods",
)


def load_selection(queues: Iterable[str] = (), extra_modules: Iterable[str] = ()) -> Selection:
    """The jobs and schedules of `queues` (domains; none means all), plus `extra_modules`'."""
    registries: list[Registry] = []
    for name in (*DOMAIN_MODULES, *extra_modules):
        registry = getattr(importlib.import_module(name), "jobs", None)
        if not isinstance(registry, Registry):
            raise ValueError(f"module {name} has no `jobs = Registry(...)`")
        registries.append(registry)
    return Selection.of(registries, queues)
