"""Each default alert fires under a synthetic condition, keeps its cooldown and resolves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.monitoring import metrics
from app.monitoring.alerts import DEFAULT_RULES, AlertEvent, Evaluator, load_rules
from app.monitoring.notify import Notifier
from app.monitoring.stats import Recorder
from tests.app.monitoring.helpers import fresh_app, value

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Collected:
    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    async def __call__(self, event: AlertEvent) -> None:
        self.events.append(event)


# The synthetic conditions go to metrics of their own, read only by the evaluators these tests
# build: written to the process-wide registry, they would also land in the windows of every app
# in the test session (the session-wide `app` then reports 5xx, slow requests and failed payments
# nobody made, and alerts fire there, depending on which tests ran before).
SYNTHETIC = CollectorRegistry()
HTTP_REQUESTS = Counter(
    "bountyexpo_http_requests_total", "", ["route", "method", "status"], registry=SYNTHETIC
)
HTTP_DURATION = Histogram(
    "bountyexpo_http_request_duration_seconds", "", ["route", "method"],
    buckets=metrics.LATENCY_BUCKETS, registry=SYNTHETIC,
)  # fmt: skip
DB_ERRORS = Counter("bountyexpo_db_errors_total", "", ["operation"], registry=SYNTHETIC)
PAYMENTS = Counter(
    "bountyexpo_payments_total", "", ["type", "status", "currency"], registry=SYNTHETIC
)
WEBSOCKET_CONNECTIONS = Gauge("bountyexpo_websocket_connections", "", registry=SYNTHETIC)
BOUNTY_APPLICATIONS = Counter(
    "bountyexpo_bounty_applications_total", "", ["event"], registry=SYNTHETIC
)


def evaluator_for(notify: Collected, path: Path | None = None) -> tuple[Evaluator, Clock]:
    clock = Clock()
    return Evaluator(load_rules(path), Recorder(lambda: SYNTHETIC, clock=clock), notify), clock


def http_errors() -> None:  # 2% of 100 requests
    HTTP_REQUESTS.labels("/synthetic", "GET", "200").inc(98)
    HTTP_REQUESTS.labels("/synthetic", "GET", "500").inc(2)


def slow_requests() -> None:  # 100 requests of 1 s
    for _ in range(100):
        HTTP_DURATION.labels("/synthetic", "GET").observe(1.0)


def db_errors() -> None:
    DB_ERRORS.labels("OTHER").inc(11)


def payment_failures() -> None:  # 1 of 10 failed
    PAYMENTS.labels("charge", "succeeded", "USD").inc(9)
    PAYMENTS.labels("charge", "failed", "USD").inc()


def many_sockets() -> None:
    WEBSOCKET_CONNECTIONS.inc(1001)


def fewer_sockets() -> None:
    WEBSOCKET_CONNECTIONS.dec(1001)


CASES: list[tuple[str, Callable[[], None], Callable[[], None] | None]] = [
    ("HighErrorRatio", http_errors, None),
    ("HighLatencyP95", slow_requests, None),
    ("DatabaseErrors", db_errors, None),
    ("PaymentFailures", payment_failures, None),
    ("TooManyWebSockets", many_sockets, fewer_sockets),
]


@pytest.mark.parametrize(("name", "breach", "heal"), CASES, ids=[case[0] for case in CASES])
async def test_default_rule_fires_cools_down_and_resolves(
    name: str, breach: Callable[[], None], heal: Callable[[], None] | None
) -> None:
    notify = Collected()
    evaluator, clock = evaluator_for(notify)

    async def step(seconds: float) -> list[tuple[str, str]]:
        clock.now += seconds
        events = await evaluator.evaluate()
        return [(event.alert, event.status) for event in events]

    assert await step(0) == []
    breach()
    assert await step(10) == [(name, "firing")]
    assert value("bountyexpo_alerts_firing", alert=name) == 1
    assert await step(10) == []  # still firing: no second notification
    assert [alert["alert"] for alert in evaluator.active()] == [name]
    if heal is not None:
        heal()
    assert await step(380) == [(name, "resolved")]  # the window (300 s) no longer holds it
    assert value("bountyexpo_alerts_firing", alert=name) == 0
    breach()
    assert await step(10) == []  # within the 900 s cooldown of the first notification
    if heal is not None:
        heal()
    clock.now += 600
    breach()
    assert await step(0) == [(name, "firing")]
    if heal is not None:
        heal()
    assert [event.status for event in evaluator.history] == ["firing", "resolved", "firing"]


async def test_ratio_rules_wait_for_their_minimum_count() -> None:
    notify = Collected()
    evaluator, clock = evaluator_for(notify)
    await evaluator.evaluate()
    HTTP_REQUESTS.labels("/synthetic", "GET", "500").inc(50)  # 100% of 50 requests
    clock.now += 10
    assert await evaluator.evaluate() == []


async def test_rules_from_a_file_add_to_and_replace_the_defaults(tmp_path: Path) -> None:
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        """
[[rule]]
name = "ApplicationBurst"
signal = "increase:bountyexpo_bounty_applications_total"
threshold = 2
window_seconds = 60
cooldown_seconds = 0

[[rule]]
name = "TooManyWebSockets"
signal = "websocket_connections"
threshold = 5000
"""
    )
    notify = Collected()
    evaluator, clock = evaluator_for(notify, rules)
    assert len(evaluator.rules) == len(DEFAULT_RULES) + 1
    await evaluator.evaluate()
    BOUNTY_APPLICATIONS.labels("submitted").inc(3)
    many_sockets()  # 1001 is under the replaced threshold
    clock.now += 5
    try:
        events = await evaluator.evaluate()
    finally:
        fewer_sockets()
    assert [(event.alert, event.status) for event in events] == [("ApplicationBurst", "firing")]
    clock.now += 120
    assert [e.status for e in await evaluator.evaluate()] == ["resolved"]


async def test_unknown_signals_are_refused_at_load(tmp_path: Path) -> None:
    rules = tmp_path / "alerts.toml"
    rules.write_text('[[rule]]\nname = "X"\nsignal = "vibes"\nthreshold = 1\n')
    with pytest.raises(ValueError, match="unknown alert signal 'vibes'"):
        load_rules(rules)
    # A metric the gateway does not register (a typo, or one gone) would never fire: refused.
    rules.write_text(
        '[[rule]]\nname = "X"\nsignal = "increase:bountyexpo_typo_total"\nthreshold = 1\n'
    )
    with pytest.raises(ValueError, match="names no metric the gateway registers"):
        load_rules(rules)


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    """A real HTTP server on loopback that records the JSON bodies POSTed to it."""
    received: list[dict[str, object]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        received.append(orjson.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/alerts", received


async def test_webhook_receives_firing_and_resolved() -> None:
    async with webhook_receiver() as (url, received):
        notifier = Notifier(url)
        evaluator, clock = evaluator_for(Collected())
        evaluator.notify = notifier
        sent = value("bountyexpo_alert_notifications_total", channel="webhook", outcome="sent")
        await evaluator.evaluate()
        db_errors()
        clock.now += 1
        await evaluator.evaluate()
        clock.now += 400
        await evaluator.evaluate()
        await notifier.close()
    assert [(body["alert"], body["status"]) for body in received] == [
        ("DatabaseErrors", "firing"),
        ("DatabaseErrors", "resolved"),
    ]
    assert received[0]["value"] == 11
    assert received[0]["threshold"] == 10
    after = value("bountyexpo_alert_notifications_total", channel="webhook", outcome="sent")
    assert after - sent == 2


async def test_an_unreachable_webhook_is_counted_not_raised() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    notifier = Notifier(f"http://127.0.0.1:{port}/gone")
    failed = value("bountyexpo_alert_notifications_total", channel="webhook", outcome="failed")
    event = AlertEvent("X", "firing", 0.0, 1.0, 0.5, "warning", "test")
    await notifier(event)
    await notifier.close()
    after = value("bountyexpo_alert_notifications_total", channel="webhook", outcome="failed")
    assert after - failed == 1


async def test_metrics_alerts_lists_active_and_recent(database_url: str) -> None:
    # An app of its own, started now: the session-wide one's window holds what earlier tests
    # really did (declined cards: PaymentFailures rightly fires there).
    async with fresh_app(database_url) as started:
        evaluator, client = started.app.state.monitoring.evaluator, started.client
        metrics.WEBSOCKET_CONNECTIONS.inc(1001)  # what this app's /graphql sockets count
        try:
            await evaluator.evaluate()
            firing = (await client.get("/metrics/alerts")).json()
        finally:
            metrics.WEBSOCKET_CONNECTIONS.dec(1001)
        await evaluator.evaluate()
        resolved = (await client.get("/metrics/alerts")).json()
    assert [alert["alert"] for alert in firing["active"]] == ["TooManyWebSockets"]
    assert firing["active"][0]["value"] == 1001
    assert resolved["active"] == []
    assert [(e["alert"], e["status"]) for e in resolved["recent"][:2]] == [
        ("TooManyWebSockets", "resolved"),
        ("TooManyWebSockets", "firing"),
    ]
    assert {rule["name"] for rule in resolved["rules"]} == {rule.name for rule in DEFAULT_RULES}
