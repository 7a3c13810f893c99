"""Entrypoint names, queue selection and retry delays."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from workers import DOMAIN_MODULES, load_selection
from workers.executor import backoff
from workers.registry import JobRun, JobSpec, Registry, Selection


async def nothing(run: JobRun) -> None:
    pass


@pytest.mark.parametrize("name", ["noop", "system.Noop", "payments.noop", "system.send.now", ""])
def test_entrypoints_are_named_domain_dot_verb_in_their_own_domain(name: str) -> None:
    with pytest.raises(ValueError, match=re.escape("job names are 'system.<verb>'")):
        Registry("system").job(name)


def test_a_name_is_registered_once() -> None:
    jobs = Registry("system")
    jobs.job("system.noop")(nothing)
    with pytest.raises(ValueError, match="already registered"):
        jobs.job("system.noop")(nothing)


def test_queues_select_domains_and_unknown_queues_are_refused() -> None:
    mail, pay = Registry("mail"), Registry("pay")
    mail.job("mail.send")(nothing)
    pay.job("pay.refund")(nothing)

    assert list(Selection.of([mail, pay]).jobs) == ["mail.send", "pay.refund"]
    assert list(Selection.of([mail, pay], ["pay"]).jobs) == ["pay.refund"]
    with pytest.raises(ValueError, match="no jobs are registered for queue"):
        Selection.of([mail, pay], ["pay", "sms"])


def test_production_workers_serve_only_production_modules() -> None:
    selection = load_selection()

    assert DOMAIN_MODULES == (
        "workers.system",
        "workers.bounties",
        "workers.realtime",
        "workers.notifications",
        "workers.analytics",
        "workers.risk",
        "workers.payments",
        "workers.payment_methods",
    )
    assert list(selection.jobs) == [
        "system.noop",
        "bounties.notify",
        "realtime.publish",
        "notifications.create",
        "notifications.message",
        "notifications.push",
        "notifications.email",
        "analytics.rollup",
        "payments.webhook",
        "payments.refund",
        "payments.cancel_intent",
        "payments.detach_method",
    ]
    assert list(selection.schedules) == [
        "system.heartbeat",
        "bounties.expire",
        "notifications.receipts",
        "analytics.rollup_hourly",
        "analytics.rollup_daily",
        "risk.reassess_changed",
        "risk.reassess_nightly",
        "payments.reconcile",
        "payments.expire_funding",
    ]
    assert "testing.record" in load_selection(extra_modules=["tests.workers.entrypoints"]).jobs


def test_retry_delays_double_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    spec = JobSpec(
        "mail.send",
        nothing,
        max_attempts=10,
        retry_delay=timedelta(seconds=2),
        max_retry_delay=timedelta(seconds=30),
        concurrency_limit=0,
    )
    for retries, full in [(0, 2), (1, 4), (2, 8), (3, 16), (4, 30), (9, 30)]:
        delays = {backoff(spec, retries) for _ in range(50)}
        assert all(timedelta(seconds=full / 2) <= d <= timedelta(seconds=full) for d in delays)
        assert len(delays) > 1  # jittered
