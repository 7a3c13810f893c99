"""Deploy assets stay in step with the code: promtool passes, the dashboard names real metrics."""

from __future__ import annotations

import ast
import json
import os
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
        message = "promtool is not installed (Debian package `prometheus`)"
        if os.environ.get("CI"):  # CI installs it (.ci/run, the GitHub workflow): never skip there
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        [tool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, check=False
    )


def test_prometheus_rules_pass_promtool_check_and_unit_tests() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _series_named_by_dashboards_and_rules() -> set[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "bountyexpo.json").read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(expressions) > 20
    rules = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    # The gateway's own evaluator: its named signals read these modules' series names.
    in_process = "".join(
        (ROOT / "app" / "monitoring" / name).read_text() for name in ("alerts.py", "stats.py")
    )
    return set(SERIES.findall(" ".join(expressions) + rules + in_process))


def test_dashboards_and_rules_name_only_series_the_code_emits() -> None:
    emitted = {METRICS[constant] for constant in emitted_metric_constants()}

    def is_emitted(series: str) -> bool:
        return series in emitted or any(series.removesuffix(s) in emitted for s in SUFFIXES)

    named = _series_named_by_dashboards_and_rules()
    assert {"bountyexpo_bounties_total", "bountyexpo_payments_total"} <= named
    assert sorted(series for series in named if not is_emitted(series)) == []
    assert all(known_metric(series) for series in named)


def test_every_metric_the_code_registers_is_emitted_by_a_code_path() -> None:
    assert len(METRICS) > 30
    assert sorted(set(METRICS) - emitted_metric_constants()) == []


def test_the_emission_check_sees_a_metric_nobody_increments(tmp_path: Path) -> None:
    """The check above can fail: a metric defined but never incremented is reported."""
    module = tmp_path / "metrics.py"
    module.write_text(
        (ROOT / "app" / "monitoring" / "metrics.py").read_text()
        + '\nUNUSED = Counter("bountyexpo_unused_total", "Nothing increments this.")\n'
    )
    constants = defined_metric_constants(module)
    assert constants["UNUSED"] == "bountyexpo_unused_total"
    assert "UNUSED" not in emitted_metric_constants(module)


# --- What the code emits, read from its source ----------------------------------------------
ROOT = DEPLOY.parent
SERIES = re.compile(r"bountyexpo_[a-z_]+[a-z]")
PRODUCTION = ("app", "schema", "resolvers", "services", "workers")
METRICS_MODULE = ROOT / "app" / "monitoring" / "metrics.py"
# Modules whose functions only pass counts on: a metric they touch is emitted when one of their
# functions is called from elsewhere.
FORWARDERS = {"metrics": "app.monitoring.metrics", "business_events": "services.business_events"}


def defined_metric_constants(module: Path = METRICS_MODULE) -> dict[str, str]:
    """`CONSTANT -> metric name` for every Counter, Gauge and Histogram the module defines."""
    found: dict[str, str] = {}
    for node in ast.parse(module.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in ("Counter", "Gauge", "Histogram")
        ):
            [target] = node.targets
            assert isinstance(target, ast.Name)
            name = node.value.args[0]
            assert isinstance(name, ast.Constant)
            assert isinstance(name.value, str)
            found[target.id] = name.value
    return found


def _calls_out(tree: ast.AST) -> set[str]:
    """Names a module uses from the forwarders: `metrics.X`, `business_events.X`, imports."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in FORWARDERS:
                used.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module in FORWARDERS.values():
            used.update(alias.name for alias in node.names)
    return used


def emitted_metric_constants(module: Path = METRICS_MODULE) -> set[str]:
    """Metric constants some production code path increments, observes or sets.

    A constant counts when code outside the forwarders uses it, or uses a forwarder function
    that (perhaps through another forwarder function) uses it. Module-level statements of the
    metrics module itself (creating a series at 0) emit nothing.
    """
    forwarder_files = {METRICS_MODULE: module, ROOT / "services" / "business_events.py": None}
    functions: dict[str, set[str]] = {}
    used: set[str] = set()
    for path in sorted(p for package in PRODUCTION for p in (ROOT / package).rglob("*.py")):
        if path in forwarder_files:
            tree = ast.parse((forwarder_files[path] or path).read_text())
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    functions[node.name] = _calls_out(node) | {
                        name.id for name in ast.walk(node) if isinstance(name, ast.Name)
                    }
        else:
            used |= _calls_out(ast.parse(path.read_text()))
    # `_X = children(METRIC)` at module level: a function using `_X` emits METRIC.
    for path, source in forwarder_files.items():
        for node in ast.parse((source or path).read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "children"
            ):
                target = node.targets[0]
                if isinstance(target, ast.Name) and isinstance(node.value.args[0], ast.Name):
                    functions[target.id] = {node.value.args[0].id}
    pending = [name for name in functions if name in used]
    while pending:
        for name in functions[pending.pop()] - used:
            used.add(name)
            if name in functions:
                pending.append(name)
    return used & set(defined_metric_constants(module))


METRICS = defined_metric_constants()
