"""Figures from the recorded requests: per stage and overall, thresholds, the knee, recovery.

Plain data in, plain data out (no locust here), so tests check the verdicts on made-up samples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.load.profiles import Profile, Thresholds

OK = "ok"
SHED = "shed"  # 429 or 503 with Retry-After: the server said "later"
SHED_WITHOUT_RETRY_AFTER = "shed-no-retry-after"
SERVER_ERROR = "5xx"  # any other 5xx: a failure under load, never acceptable
CLIENT_ERROR = "4xx"
GRAPHQL_ERROR = "graphql-error"  # HTTP 200 with `errors`, or without the expected data
TIMEOUT = "timeout"
CONNECTION = "connection"
HEALTHY_WINDOW_SECONDS = 5
# A stage is below the knee when the server kept up with what was offered...
KEPT_UP = 0.9


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the profile started
    stage: str
    name: str
    ms: float
    outcome: str


def percentile(sorted_values: Sequence[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def figures(samples: Sequence[Sample], seconds: float) -> dict[str, Any]:
    times = sorted(sample.ms for sample in samples)
    outcomes = Counter(sample.outcome for sample in samples)
    count = len(samples)
    failed = count - outcomes[OK]
    return {
        "requests": count,
        "rate": round(count / seconds, 1) if seconds else 0.0,
        "mean_ms": round(sum(times) / count, 1) if count else 0.0,
        "p50_ms": round(percentile(times, 0.50), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "p99_ms": round(percentile(times, 0.99), 1),
        "max_ms": round(times[-1], 1) if times else 0.0,
        "error_ratio": round(failed / count, 4) if count else 0.0,
        "outcomes": dict(sorted(outcomes.items())),
    }


def meets(found: dict[str, Any], thresholds: Thresholds) -> dict[str, bool]:
    return {
        f"p95 < {thresholds.p95_ms:g} ms": found["p95_ms"] < thresholds.p95_ms,
        f"mean < {thresholds.mean_ms:g} ms": found["mean_ms"] < thresholds.mean_ms,
        f"errors < {thresholds.error_ratio:.0%}": found["error_ratio"] < thresholds.error_ratio,
    }


def healthy(found: dict[str, Any], offered: float, thresholds: Thresholds) -> bool:
    return all(meets(found, thresholds).values()) and found["rate"] >= KEPT_UP * offered


def recovery_seconds(
    samples: Iterable[Sample], start: float, thresholds: Thresholds
) -> float | None:
    """Seconds from `start` to the first 5 s window in which every request succeeded within the
    p95 threshold; None when no such window came."""
    by_second: dict[int, list[Sample]] = {}
    for sample in samples:
        by_second.setdefault(int(sample.at - start), []).append(sample)
    for first in sorted(by_second):
        window = [s for second in range(first, first + HEALTHY_WINDOW_SECONDS)
                  for s in by_second.get(second, [])]  # fmt: skip
        if len({int(s.at - start) for s in window}) < HEALTHY_WINDOW_SECONDS:
            continue  # a window needs requests in each of its seconds
        times = sorted(s.ms for s in window)
        if all(s.outcome == OK for s in window) and percentile(times, 0.95) < thresholds.p95_ms:
            return float(first)
    return None


def summarize(profile: Profile, samples: Sequence[Sample]) -> dict[str, Any]:
    """Everything the run printed and judged, as JSON-ready data; `passed` is the verdict."""
    stages = []
    start = 0.0
    for stage in profile.stages:
        mine = [sample for sample in samples if sample.stage == stage.name]
        found = figures(mine, stage.seconds)
        stages.append({"stage": stage.name, "offered_rate": stage.rate, "start": start, **found})
        start += stage.seconds
    overall = figures(samples, profile.seconds)
    by_name = {
        name: figures([s for s in samples if s.name == name], profile.seconds)
        for name in sorted({sample.name for sample in samples})
    }
    result: dict[str, Any] = {
        "profile": profile.name,
        "stages": stages,
        "overall": overall,
        "requests": by_name,
    }
    if profile.stress:
        result["stress"] = judge_stress(profile, samples, stages)
        result["passed"] = all(result["stress"]["checks"].values())
    else:
        result["checks"] = meets(overall, profile.thresholds)
        result["passed"] = all(result["checks"].values())
    return result


def judge_stress(
    profile: Profile, samples: Sequence[Sample], stages: list[dict[str, Any]]
) -> dict[str, Any]:
    ramp, recovery = stages[:-1], stages[-1]
    knee: dict[str, Any] | None = None
    for stage in ramp:
        if not healthy(stage, stage["offered_rate"], profile.thresholds):
            break
        knee = stage
    above = ramp[ramp.index(knee) + 1 :] if knee else ramp
    outcomes: Counter[str] = Counter()
    for stage in above:
        outcomes.update(stage["outcomes"])
    recovered = recovery_seconds(
        [s for s in samples if s.stage == recovery["stage"]], recovery["start"], profile.thresholds
    )
    return {
        "knee_rate": knee["rate"] if knee else None,
        "knee_stage": knee["stage"] if knee else None,
        "above_knee_outcomes": dict(sorted(outcomes.items())),
        "recovered_after_seconds": recovered,
        "checks": {
            "no 5xx other than 503 above the knee": outcomes[SERVER_ERROR] == 0,
            "every 429/503 carries Retry-After": outcomes[SHED_WITHOUT_RETRY_AFTER] == 0,
            f"recovers within {profile.recovery_seconds:g} s": (
                recovered is not None and recovered <= profile.recovery_seconds
            ),
        },
    }


def table(result: dict[str, Any]) -> str:
    head = (
        f"{'stage':<24} {'offered/s':>9} {'served/s':>8} {'requests':>8} {'mean':>7} "
        f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>8} {'err%':>6} {'shed':>6} {'5xx':>5} "
        f"{'timeout':>7}"
    )
    lines = [f"profile {result['profile']} (times in ms)"]
    machine = result.get("machine")
    if machine:
        lines.append(
            f"machine: {machine['cpus']} CPUs, load average {machine['load_start']} at the start, "
            f"{machine['load_end']} at the end"
        )
    if result.get("skipped_scenarios"):
        lines.append(f"no scenario yet (skipped): {', '.join(result['skipped_scenarios'])}")
    lines += [head, "-" * len(head)]

    def row(label: str, found: dict[str, Any], offered: str) -> str:
        out = found["outcomes"]
        return (
            f"{label:<24} {offered:>9} {found['rate']:>8} {found['requests']:>8} "
            f"{found['mean_ms']:>7} {found['p50_ms']:>7} {found['p95_ms']:>7} "
            f"{found['p99_ms']:>7} {found['max_ms']:>8} {found['error_ratio'] * 100:>6.2f} "
            f"{out.get(SHED, 0) + out.get(SHED_WITHOUT_RETRY_AFTER, 0):>6} "
            f"{out.get(SERVER_ERROR, 0):>5} {out.get(TIMEOUT, 0):>7}"
        )

    for stage in result["stages"]:
        lines.append(row(stage["stage"], stage, f"{stage['offered_rate']:g}"))
    lines.append(row("overall", result["overall"], ""))
    lines.append("")
    for name, found in result["requests"].items():
        lines.append(row(name[:24], found, ""))
    lines.append("")
    if "stress" in result:
        stress = result["stress"]
        knee = stress["knee_stage"]
        lines.append(
            f"knee: {knee} ({stress['knee_rate']} req/s served)" if knee else "knee: below 50"
        )
        lines.append(f"above the knee: {stress['above_knee_outcomes']}")
        lines.append(f"recovered after: {stress['recovered_after_seconds']} s")
        checks = stress["checks"]
    else:
        checks = result["checks"]
    for check, held in checks.items():
        lines.append(f"{'PASS' if held else 'FAIL'}  {check}")
    return "\n".join(lines)
