"""Prometheus metrics, named `bountyexpo_<subsystem>_<thing>_<unit>`; labels stay bounded."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
