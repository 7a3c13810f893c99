"""`serve --workers N`: metrics of several processes add up; one process notifies alerts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.monitoring import multiprocess

WORKER = """
import os, sys
from app.monitoring import metrics, multiprocess
metrics.HTTP_REQUESTS.labels("/graphql", "POST", "200").inc(3)
metrics.HTTP_IN_FLIGHT.inc()
if sys.argv[1] == "exits":
    multiprocess.mark_dead(os.getpid())
"""
READER = """
from app.monitoring import metrics
registry = metrics.registry()
labels = {"route": "/graphql", "method": "POST", "status": "200"}
print(registry.get_sample_value("bountyexpo_http_requests_total", labels))
print(registry.get_sample_value("bountyexpo_http_requests_in_flight", {}))
"""


def run(code: str, directory: Path, *args: str) -> str:
    env = {**os.environ, multiprocess.ENV: str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_counters_of_all_workers_add_up_and_dead_workers_leave_live_gauges(
    tmp_path: Path,
) -> None:
    run(WORKER, tmp_path, "stays")
    run(WORKER, tmp_path, "exits")
    assert run(READER, tmp_path).split() == ["6.0", "1.0"]


def test_prepare_sets_and_cleans_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(multiprocess.ENV, raising=False)
    assert multiprocess.prepare(1) is None
    assert multiprocess.ENV not in os.environ
    monkeypatch.setenv(multiprocess.ENV, str(tmp_path))
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    assert multiprocess.prepare(4) == str(tmp_path)
    assert list(tmp_path.glob("*.db")) == []


def test_only_one_process_holds_the_alert_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(multiprocess.ENV, str(tmp_path))
    first, second = multiprocess.Leadership(), multiprocess.Leadership()
    assert (first.held(), second.held()) == (True, False)
    first.release()
    assert second.held() is True
    second.release()
