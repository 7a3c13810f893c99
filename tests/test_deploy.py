"""Deploy assets stay in step with the code: promtool passes, the dashboard names real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

import app.monitoring.metrics  # noqa: F401  (registers every metric)

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def known_metric(name: str) -> bool:
    names = set(REGISTRY._names_to_collectors)
    return name in names or any(name.removesuffix(s) in names for s in SUFFIXES)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    return subprocess.run(
        [tool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, check=False
    )


def test_prometheus_rules_pass_promtool_check_and_unit_tests() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_dashboard_and_rules_only_use_metrics_the_gateway_exports() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "bountyexpo.json").read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    rules = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    used = set(re.findall(r"bountyexpo_[a-z_]+", " ".join(expressions) + rules))
    assert len(expressions) > 20
    assert sorted(name for name in used if not known_metric(name)) == []
