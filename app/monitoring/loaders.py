"""Batch sizes and one span per DataLoader batch.

It wraps the batch functions of `services.loaders.loader_batches` once per app, so services stay
free of monitoring code and a request pays nothing until a batch runs. The label is the
loader's field name (`user_by_id`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

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


def observe_batches(
    batches: Mapping[str, BatchFn], tracer: Tracer | None, *, metrics_enabled: bool
) -> dict[str, BatchFn]:
    return {
        name: observed_batch(name, batch, tracer, metrics_enabled=metrics_enabled)
        for name, batch in batches.items()
    }
