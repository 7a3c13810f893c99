"""Figures derived from the metrics over a time window: rates, ratios, latency quantiles.

A `Recorder` keeps periodic snapshots of the registry (taken by the alert evaluator's loop);
a `Window` compares now with the snapshot one window ago, as PromQL's `increase()` would.
`/metrics/json`, `/health/detailed` and the alert rules all read these same figures.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from app.monitoring import metrics

HTTP_REQUESTS = "bountyexpo_http_requests_total"
HTTP_5XX = "bountyexpo_http_requests_total{status=5xx}"
HTTP_DURATION = "bountyexpo_http_request_duration_seconds"
PAYMENTS = "bountyexpo_payments_total"
PAYMENTS_FAILED = "bountyexpo_payments_total{status=failed}"


@dataclass(frozen=True)
class Snapshot:
    at: float
    totals: dict[str, float] = field(default_factory=dict)
    latency_buckets: dict[float, float] = field(default_factory=dict)


def take_snapshot(registry: CollectorRegistry, at: float) -> Snapshot:
    """Every sample summed over its labels, plus the few label-filtered sums the rules need."""
    totals: dict[str, float] = collections.defaultdict(float)
    buckets: dict[float, float] = collections.defaultdict(float)
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            totals[sample.name] += sample.value
            if sample.name == HTTP_REQUESTS and sample.labels.get("status", "").startswith("5"):
                totals[HTTP_5XX] += sample.value
            elif sample.name == PAYMENTS and sample.labels.get("status") == "failed":
                totals[PAYMENTS_FAILED] += sample.value
            elif sample.name == HTTP_DURATION + "_bucket":
                buckets[float(sample.labels["le"])] += sample.value
    return Snapshot(at, dict(totals), dict(buckets))


@dataclass(frozen=True)
class Window:
    current: Snapshot
    previous: Snapshot

    @property
    def seconds(self) -> float:
        return max(self.current.at - self.previous.at, 0.0)

    def value(self, name: str) -> float:
        return self.current.totals.get(name, 0.0)

    def increase(self, name: str) -> float:
        now, before = self.value(name), self.previous.totals.get(name, 0.0)
        return now if now < before else now - before  # a reset (restart) starts from zero

    def rate(self, name: str) -> float:
        return self.increase(name) / self.seconds if self.seconds else 0.0

    def ratio(self, part: str, whole: str) -> float:
        total = self.increase(whole)
        return self.increase(part) / total if total else 0.0

    def latency_quantile(self, q: float) -> float:
        """histogram_quantile over the window's HTTP latency buckets; NaN with no requests."""
        counts = sorted(
            (bound, count - self.previous.latency_buckets.get(bound, 0.0))
            for bound, count in self.current.latency_buckets.items()
        )
        if not counts or counts[-1][1] <= 0:
            return math.nan
        rank = q * counts[-1][1]
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in counts:
            if count >= rank:
                if math.isinf(bound):
                    return lower_bound
                span = count - lower_count
                return lower_bound + (bound - lower_bound) * (
                    (rank - lower_count) / span if span else 0
                )
            lower_bound, lower_count = bound, count
        return lower_bound


class Recorder:
    """Snapshots at most `keep_seconds` old; `window(s)` compares now with `s` seconds ago."""

    def __init__(
        self,
        read: Callable[[], CollectorRegistry] = metrics.registry,
        *,
        keep_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.read = read
        self.keep_seconds = keep_seconds
        self.clock = clock
        self.snapshots: collections.deque[Snapshot] = collections.deque()

    def record(self) -> Snapshot:
        snapshot = take_snapshot(self.read(), self.clock())
        self.snapshots.append(snapshot)
        while self.snapshots and snapshot.at - self.snapshots[0].at > self.keep_seconds:
            self.snapshots.popleft()
        return snapshot

    def window(self, seconds: float, current: Snapshot | None = None) -> Window:
        current = current or take_snapshot(self.read(), self.clock())
        previous = None
        for snapshot in self.snapshots:  # oldest first: keep the newest one old enough
            if snapshot.at <= current.at - seconds:
                previous = snapshot
        if previous is None:  # younger than the window: compare with the first snapshot
            previous = self.snapshots[0] if self.snapshots else Snapshot(current.at)
        return Window(current, previous)


def summary(window: Window) -> dict[str, object]:
    """The derived figures dashboards want, over `window`."""

    def ms(q: float) -> float | None:
        value = window.latency_quantile(q)
        return None if math.isnan(value) else round(value * 1000, 3)

    return {
        "windowSeconds": round(window.seconds, 3),
        "requests": window.increase(HTTP_REQUESTS),
        "requestRatePerSecond": round(window.rate(HTTP_REQUESTS), 4),
        "errorRatio": round(window.ratio(HTTP_5XX, HTTP_REQUESTS), 6),
        "latencyMs": {"p50": ms(0.5), "p95": ms(0.95), "p99": ms(0.99)},
        "graphqlErrors": window.increase("bountyexpo_graphql_errors_total"),
        "dbErrors": window.increase("bountyexpo_db_errors_total"),
        "websocketConnections": window.value("bountyexpo_websocket_connections"),
    }
