"""Every Prometheus metric of the gateway, in one place.

Names are `bountyexpo_<subsystem>_<thing>_<unit>`. Label values are bounded: route templates,
`Type.field`, error codes, enums. Never user ids or argument values. Client-chosen values
(operation names) pass through a `BoundedLabel`, which folds everything past its limit into
`other`. Services never import prometheus-client (an import contract keeps it so): they count
business events through services/business_events.py, whose functions end in the `record_*`
helpers here, which refuse label values outside their enum. Every metric defined here is
incremented or set by a real code path; tests/test_deploy.py fails on one that is not.

Multi-process mode: when PROMETHEUS_MULTIPROC_DIR is set before this module is imported (the CLI
sets it for `serve --workers N`), prometheus-client keeps values in files there and `registry()`
aggregates all live processes.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "other"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def registry() -> CollectorRegistry:
    """What to read: this process's metrics, or those of all live workers in multi-process mode."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    aggregated = CollectorRegistry()
    MultiProcessCollector(aggregated, path=directory)  # type: ignore[no-untyped-call]
    return aggregated


def sample_names() -> frozenset[str]:
    """Every series name the metrics defined here can have (`_total`, `_bucket`, ... included)."""
    return frozenset(REGISTRY._names_to_collectors)


Metric = TypeVar("Metric", bound=MetricWrapperBase)


def children(metric: Metric) -> Callable[..., Metric]:
    """`metric.labels`, memoised, for the per-request paths.

    `labels()` validates its arguments and takes a lock on every call (about three times the
    cost of the `inc()` that follows); a cache hit is one dict lookup. Label values are bounded
    (see the module's docstring), so the cache is as small as the metric's own set of children.
    """
    return functools.cache(metric.labels)


class BoundedLabel:
    """The first `limit` distinct values pass through; later newcomers become `other`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
        return value


# --- HTTP -------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "bountyexpo_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "bountyexpo_http_request_duration_seconds",
    "Time from request start to the end of the response body.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "bountyexpo_http_requests_in_flight",
    "HTTP requests being served.",
    multiprocess_mode="livesum",
)

HTTP_SHED = Counter(
    "bountyexpo_http_requests_shed_total",
    "HTTP requests refused with 503 by load shedding: queue full, or no slot within the wait.",
    ["reason"],
)


def record_shed_request(reason: str) -> None:
    HTTP_SHED.labels(reason=reason).inc()


# --- GraphQL ----------------------------------------------------------------------------------
OPERATION_NAMES = BoundedLabel(500)
GRAPHQL_OPERATIONS = Counter(
    "bountyexpo_graphql_operations_total",
    "GraphQL operations by type, name (anonymous ones by document hash) and outcome.",
    ["operation_type", "operation_name", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "bountyexpo_graphql_operation_duration_seconds",
    "GraphQL operation time from parse to result.",
    ["operation_type", "operation_name"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_PHASE_DURATION = Histogram(
    "bountyexpo_graphql_phase_duration_seconds",
    "Time spent parsing, validating and executing documents.",
    ["phase"],
    buckets=FAST_BUCKETS,
)
GRAPHQL_ERRORS = Counter(
    "bountyexpo_graphql_errors_total",
    "GraphQL errors returned to clients, by extensions.code.",
    ["code"],
)
RESOLVER_DURATION = Histogram(
    "bountyexpo_graphql_resolver_duration_seconds",
    "Time in resolvers that do work (sampled), by Type.field.",
    ["field"],
    buckets=FAST_BUCKETS,
)
RESOLVER_ERRORS = Counter(
    "bountyexpo_graphql_resolver_errors_total",
    "Exceptions raised by resolvers, by Type.field.",
    ["field"],
)
DATALOADER_BATCH_SIZE = Histogram(
    "bountyexpo_dataloader_batch_size_keys",
    "Keys per DataLoader batch.",
    ["loader"],
    buckets=SIZE_BUCKETS,
)

# --- Database ---------------------------------------------------------------------------------
DB_QUERIES = Counter(
    "bountyexpo_db_queries_total", "SQL statements sent, by operation.", ["operation"]
)
DB_QUERY_DURATION = Histogram(
    "bountyexpo_db_query_duration_seconds",
    "SQL statement time, by operation.",
    ["operation"],
    buckets=FAST_BUCKETS,
)
DB_ERRORS = Counter(
    "bountyexpo_db_errors_total", "SQL statements that failed, by operation.", ["operation"]
)
DB_POOL_CONNECTIONS = Gauge(
    "bountyexpo_db_pool_connections",
    "Open connections in the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "bountyexpo_db_pool_checked_out_connections",
    "Connections lent to sessions.",
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "bountyexpo_db_pool_max_connections",
    "Pool size plus overflow: the most connections the pool opens.",
    multiprocess_mode="livesum",
)
DB_POOL_WAIT = Histogram(
    "bountyexpo_db_pool_wait_seconds",
    "Time to get a connection from the pool.",
    buckets=FAST_BUCKETS,
)

# --- Redis ------------------------------------------------------------------------------------
REDIS_COMMAND_NAMES = BoundedLabel(100)
REDIS_COMMANDS = Counter("bountyexpo_redis_commands_total", "Redis commands sent.", ["command"])
REDIS_DURATION = Histogram(
    "bountyexpo_redis_command_duration_seconds",
    "Redis command time.",
    ["command"],
    buckets=FAST_BUCKETS,
)
REDIS_ERRORS = Counter("bountyexpo_redis_errors_total", "Redis commands that failed.", ["command"])

# --- Dependency outages ------------------------------------------------------------------------
DEPENDENCIES = ("postgres", "redis", "stripe")
DEPENDENCY_UNAVAILABLE = Counter(
    "bountyexpo_dependency_unavailable_total",
    "Operations answered SERVICE_UNAVAILABLE because a dependency did not answer, by dependency"
    " (apart from INTERNAL_SERVER_ERROR: these are outages to retry, not bugs).",
    ["dependency"],
)
RATE_LIMITER_PAUSED = Gauge(
    "bountyexpo_rate_limiter_paused",
    "1 while the rate limiter stops asking Redis after a failure (buckets fail open or closed),"
    " until a probe finds it answering again.",
    multiprocess_mode="livemax",
)

# --- WebSocket --------------------------------------------------------------------------------
WEBSOCKET_CONNECTIONS = Gauge(
    "bountyexpo_websocket_connections",
    "Open (accepted) WebSocket connections.",
    multiprocess_mode="livesum",
)
WEBSOCKET_MESSAGES_RECEIVED = Counter(
    "bountyexpo_websocket_messages_received_total", "WebSocket messages from clients."
)
WEBSOCKET_MESSAGES_SENT = Counter(
    "bountyexpo_websocket_messages_sent_total", "WebSocket messages to clients."
)
WEBSOCKET_ERRORS = Counter(
    "bountyexpo_websocket_errors_total",
    "Sockets closed by the server with an error code (4xxx, 1011), or failing.",
    ["code"],
)
WEBSOCKET_SUBSCRIPTIONS = Gauge(
    "bountyexpo_websocket_subscriptions",
    "Active subscriptions by root field.",
    ["field"],
    multiprocess_mode="livesum",
)

# --- Payments: every answer of the payments provider (services/metered_payments.py) ----------
PAYMENT_TYPES = frozenset({"charge", "refund", "payout", "transfer"})
PAYMENT_STATUSES = frozenset({"succeeded", "failed", "pending", "canceled"})
CURRENCIES = BoundedLabel(20)
PAYMENTS = Counter(
    "bountyexpo_payments_total",
    "Payment attempts by type, status and currency.",
    ["type", "status", "currency"],
)
PAYMENT_AMOUNT = Counter(
    "bountyexpo_payments_amount_minor_units_total",
    "Sum of succeeded payment amounts in minor units (cents), by type and currency.",
    ["type", "currency"],
)

# --- Business events: services count them through services/business_events.py, once committed.
BOUNTY_EVENTS = (
    "created",
    "published",
    "accepted",
    "completed",
    "cancelled",
    "expired",
    "disputed",
)
APPLICATION_EVENTS = ("submitted", "withdrawn", "accepted", "rejected")
BOUNTIES = Counter(
    "bountyexpo_bounties_total",
    "Bounty lifecycle events: created, published, accepted, completed, cancelled, expired, "
    "disputed.",
    ["event"],
)
BOUNTY_APPLICATIONS = Counter(
    "bountyexpo_bounty_applications_total",
    "Application events: submitted, withdrawn, accepted, rejected.",
    ["event"],
)
REVIEWS = Counter("bountyexpo_reviews_total", "Reviews written after completed bounties.")
SIGN_UPS = Counter("bountyexpo_sign_ups_total", "Accounts created by signing up.")
# Every event's series exists from the start at 0, so `increase()` sees the first one.
for _event in BOUNTY_EVENTS:
    BOUNTIES.labels(_event)
for _event in APPLICATION_EVENTS:
    BOUNTY_APPLICATIONS.labels(_event)

# --- Messaging and realtime delivery ---------------------------------------------------------
MESSAGES_SENT = Counter(
    "bountyexpo_messages_sent_total", "Chat messages stored (a retried send counts once)."
)
MESSAGES_DELIVERED = Counter(
    "bountyexpo_messages_delivered_total", "Chat messages delivered to subscribed sockets."
)
SUBSCRIPTION_DELIVERIES = Counter(
    "bountyexpo_subscription_deliveries_total",
    "Subscription results sent to sockets, by root field.",
    ["field"],
)
PUBLISH_TO_DELIVER = Histogram(
    "bountyexpo_realtime_publish_to_deliver_seconds",
    "From an event's publish to the end of its fan-out to one group's sockets.",
    buckets=FAST_BUCKETS,
)
REALTIME_GROUPS = Gauge(
    "bountyexpo_realtime_groups",
    "Subscription groups (same document, variables and visibility) of this process.",
    multiprocess_mode="livesum",
)
SOCKETS = Gauge(
    "bountyexpo_websocket_sockets",
    "Acknowledged sockets by protocol (graphql-transport-ws, graphql-ws).",
    ["protocol"],
    multiprocess_mode="livesum",
)
NOTIFICATION_CHANNELS = frozenset({"in_app", "push", "email"})
NOTIFICATION_OUTCOMES = frozenset(
    {"stored", "queued", "sent", "failed", "muted", "quiet_hours", "no_device", "no_address"}
)
NOTIFICATIONS = Counter(
    "bountyexpo_notifications_total",
    "Notifications by channel (in_app, push, email) and outcome (stored, queued, sent, failed, "
    "muted by preference, held by quiet hours, no device, no address).",
    ["channel", "outcome"],
)
PUSH_RECEIPTS = Counter(
    "bountyexpo_push_receipts_total",
    "Expo push receipts by status: ok, or the error (DeviceNotRegistered, ...).",
    ["status"],
)
PUSH_RECEIPT_ERRORS = BoundedLabel(20)

# --- Jobs ---------------------------------------------------------------------------------------
# Background jobs. `entrypoint` is a registered job name ("<domain>.<verb>"), never job data.
JOBS_PROCESSED = Counter(
    "bountyexpo_jobs_processed_total",
    "Job runs that succeeded.",
    ["entrypoint"],
)
JOBS_FAILED = Counter(
    "bountyexpo_jobs_failed_total",
    "Job runs that failed for the last allowed time; the job is now dead (held for requeue).",
    ["entrypoint"],
)
JOBS_RETRIED = Counter(
    "bountyexpo_jobs_retried_total",
    "Job runs that failed and were queued again with a backoff delay.",
    ["entrypoint"],
)
JOBS_DURATION = Histogram(
    "bountyexpo_jobs_duration_seconds",
    "Time a handler ran, by outcome (done, retry, dead, released).",
    ["entrypoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
JOBS_QUEUE_DEPTH = Gauge(
    "bountyexpo_jobs_queue_depth_jobs",
    "Jobs in the queue table by state: queued, picked (running) and failed (dead letters).",
    ["entrypoint", "status"],
    multiprocess_mode="max",
)
JOBS_OLDEST_AGE = Gauge(
    "bountyexpo_jobs_oldest_age_seconds",
    "Age of the oldest job still waiting to run (queued), per entrypoint.",
    ["entrypoint"],
    multiprocess_mode="max",
)

# --- Alerting -----------------------------------------------------------------------------------
ALERTS_FIRING = Gauge(
    "bountyexpo_alerts_firing",
    "1 while the gateway's own evaluator has the alert firing.",
    ["alert"],
    multiprocess_mode="max",
)
ALERT_NOTIFICATIONS = Counter(
    "bountyexpo_alert_notifications_total",
    "Alert notifications sent, by channel and outcome.",
    ["channel", "outcome"],
)


def record_payment(kind: str, status: str, currency: str, amount_minor: int) -> None:
    if kind not in PAYMENT_TYPES or status not in PAYMENT_STATUSES:
        raise ValueError(f"unknown payment type or status: {kind!r}, {status!r}")
    code = CURRENCIES(currency.upper())
    PAYMENTS.labels(kind, status, code).inc()
    if status == "succeeded":
        PAYMENT_AMOUNT.labels(kind, code).inc(amount_minor)


def record_bounty_event(event: str) -> None:
    if event not in BOUNTY_EVENTS:
        raise ValueError(f"unknown bounty event {event!r}")
    BOUNTIES.labels(event).inc()


def record_application_event(event: str) -> None:
    if event not in APPLICATION_EVENTS:
        raise ValueError(f"unknown application event {event!r}")
    BOUNTY_APPLICATIONS.labels(event).inc()


def record_review() -> None:
    REVIEWS.inc()


def record_sign_up() -> None:
    SIGN_UPS.inc()


def record_notification(channel: str, outcome: str, count: int = 1) -> None:
    if channel not in NOTIFICATION_CHANNELS or outcome not in NOTIFICATION_OUTCOMES:
        raise ValueError(f"unknown notification channel or outcome: {channel!r}, {outcome!r}")
    if count:
        NOTIFICATIONS.labels(channel, outcome).inc(count)


def record_push_receipt(status: str) -> None:
    PUSH_RECEIPTS.labels(PUSH_RECEIPT_ERRORS(status)).inc()


_DELIVERIES = children(SUBSCRIPTION_DELIVERIES)


def record_deliveries(field: str, count: int, published_at: object) -> None:
    """One group's fan-out of one event: `count` sockets, published at `published_at` (epoch)."""
    _DELIVERIES(field).inc(count)
    if field == "messageAdded":
        MESSAGES_DELIVERED.inc(count)
    if isinstance(published_at, int | float):
        PUBLISH_TO_DELIVER.observe(max(0.0, time.time() - published_at))


def record_dependency_unavailable(dependency: str) -> None:
    if dependency not in DEPENDENCIES:
        raise ValueError(f"unknown dependency {dependency!r}")
    DEPENDENCY_UNAVAILABLE.labels(dependency).inc()


def record_rate_limiter_paused(paused: bool) -> None:
    RATE_LIMITER_PAUSED.set(1 if paused else 0)
