"""Batch sizes and one span per DataLoader batch, added to the per-request loaders.

It wraps each loader's `batch_load_fn` after `services.loaders.create_loaders` built it, so
services stay free of monitoring code. The label is the loader's field name (`user_by_id`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from typing import Any

from aiodataloader import DataLoader
from opentelemetry.trace import Tracer

from app.monitoring import metrics

BatchFn = Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]


def observed_batch(
    name: str, batch: BatchFn, tracer: Tracer | None, *, metrics_enabled: bool
) -> BatchFn:
    async def run(keys: list[Any]) -> list[Any]:
        if metrics_enabled:
            metrics.DATALOADER_BATCH_SIZE.labels(name).observe(len(keys))
        if tracer is None:
            return await batch(keys)
        with tracer.start_as_current_span(
            f"dataloader {name}",
            attributes={"dataloader.name": name, "dataloader.batch_size": len(keys)},
        ):
            return await batch(keys)

    return run


def observe_loaders(loaders: Any, tracer: Tracer | None, *, metrics_enabled: bool) -> None:
    for field in dataclasses.fields(loaders):
        loader = getattr(loaders, field.name)
        if isinstance(loader, DataLoader):
            loader.batch_load_fn = observed_batch(
                field.name, loader.batch_load_fn, tracer, metrics_enabled=metrics_enabled
            )
