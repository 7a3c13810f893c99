"""The gateway's own alert evaluator: rules over windows of the metrics, with cooldown and history.

A rule fires when its signal passes its threshold over its window (and, for ratios and quantiles,
only once the window holds `min_count` requests). It resolves by itself when the condition clears.
After a notification a rule stays quiet for `cooldown_seconds`: it neither re-fires nor notifies
again until then. The same five defaults are Prometheus rules in deploy/prometheus/alerts.yml.

Rules from ALERT_RULES_FILE (TOML, `[[rule]]` tables with the fields of `AlertRule`) are added to
the defaults; a rule of the same name replaces the default. Signals: the named ones below, or
`increase:<metric>` / `value:<metric>` for any metric (summed over labels).
"""

from __future__ import annotations

import collections
import logging
import math
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.monitoring import metrics
from app.monitoring.stats import (
    HTTP_5XX,
    HTTP_REQUESTS,
    PAYMENTS,
    PAYMENTS_FAILED,
    Recorder,
    Snapshot,
    Window,
)

logger = logging.getLogger("bountyexpo.alerts")
HTTP_COUNT = "bountyexpo_http_request_duration_seconds_count"


def _signal(window: Window, name: str) -> tuple[float, float]:
    """(value, sample count) of a signal over the window; the count gates `min_count`."""
    if name == "error_ratio":
        return window.ratio(HTTP_5XX, HTTP_REQUESTS), window.increase(HTTP_REQUESTS)
    if name == "latency_p95_seconds":
        return window.latency_quantile(0.95), window.increase(HTTP_COUNT)
    if name == "db_errors":
        return window.increase("bountyexpo_db_errors_total"), math.inf
    if name == "payment_failure_ratio":
        return window.ratio(PAYMENTS_FAILED, PAYMENTS), window.increase(PAYMENTS)
    if name == "websocket_connections":
        return window.value("bountyexpo_websocket_connections"), math.inf
    kind, _, metric = name.partition(":")
    if kind in ("increase", "value") and metric not in metrics.sample_names():
        raise ValueError(f"alert signal {name!r} names no metric the gateway registers")
    if kind == "increase":
        return window.increase(metric), math.inf
    if kind == "value":
        return window.value(metric), math.inf
    raise ValueError(f"unknown alert signal {name!r}")


@dataclass(frozen=True)
class AlertRule:
    name: str
    signal: str
    threshold: float
    min_count: float = 0
    window_seconds: float = 300
    cooldown_seconds: float = 900
    severity: str = "warning"
    summary: str = ""


DEFAULT_RULES = (
    AlertRule("HighErrorRatio", "error_ratio", 0.01, min_count=100, severity="critical",
              summary="More than 1% of HTTP requests failed with 5xx"),
    AlertRule("HighLatencyP95", "latency_p95_seconds", 0.5, min_count=100,
              summary="HTTP p95 latency above 500 ms"),
    AlertRule("DatabaseErrors", "db_errors", 10, severity="critical",
              summary="More than 10 failed SQL statements"),
    AlertRule("PaymentFailures", "payment_failure_ratio", 0.05, min_count=10, severity="critical",
              summary="More than 5% of payments failed"),
    AlertRule("TooManyWebSockets", "websocket_connections", 1000,
              summary="More than 1000 open WebSocket connections"),
)  # fmt: skip


def load_rules(path: Path | None) -> list[AlertRule]:
    rules = {rule.name: rule for rule in DEFAULT_RULES}
    if path is not None:
        for entry in tomllib.loads(path.read_text()).get("rule", []):
            rule = AlertRule(**entry)
            _signal(
                Window(Snapshot(0.0), Snapshot(0.0)), rule.signal
            )  # refuse unknown signals at start
            rules[rule.name] = rule
    return list(rules.values())


@dataclass
class AlertState:
    rule: AlertRule
    firing: bool = False
    since: float | None = None
    value: float = 0.0
    last_notified: float = -math.inf


@dataclass(frozen=True)
class AlertEvent:
    alert: str
    status: str  # "firing" or "resolved"
    at: float
    value: float
    threshold: float
    severity: str
    summary: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


Notify = Callable[[AlertEvent], Awaitable[None]]


@dataclass
class Evaluator:
    rules: list[AlertRule]
    recorder: Recorder
    notify: Notify
    history_size: int = 200
    states: dict[str, AlertState] = field(default_factory=dict)
    history: collections.deque[AlertEvent] = field(default_factory=collections.deque)

    def __post_init__(self) -> None:
        self.states = {rule.name: AlertState(rule) for rule in self.rules}
        self.history = collections.deque(maxlen=self.history_size)

    async def evaluate(self) -> list[AlertEvent]:
        """Take a snapshot, check every rule, notify changes; returns the events raised."""
        current = self.recorder.record()
        events = []
        for state in self.states.values():
            rule = state.rule
            value, count = _signal(self.recorder.window(rule.window_seconds, current), rule.signal)
            state.value = value
            breached = count >= rule.min_count and not math.isnan(value) and value > rule.threshold
            cooling = current.at - state.last_notified < rule.cooldown_seconds
            if breached and not state.firing and not cooling:
                state.firing, state.since, state.last_notified = True, current.at, current.at
                events.append(self._event(state, "firing", current.at))
            elif not breached and state.firing:
                state.firing, state.since = False, None
                events.append(self._event(state, "resolved", current.at))
            metrics.ALERTS_FIRING.labels(rule.name).set(1 if state.firing else 0)
        for event in events:
            self.history.append(event)
            await self.notify(event)
        return events

    def _event(self, state: AlertState, status: str, at: float) -> AlertEvent:
        rule = state.rule
        return AlertEvent(
            rule.name, status, at, state.value, rule.threshold, rule.severity, rule.summary
        )

    def active(self) -> list[dict[str, object]]:
        return [
            {
                "alert": state.rule.name,
                "since": state.since,
                "value": state.value,
                "threshold": state.rule.threshold,
                "severity": state.rule.severity,
                "summary": state.rule.summary,
            }
            for state in self.states.values()
            if state.firing
        ]
