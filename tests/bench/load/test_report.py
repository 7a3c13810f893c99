"""The verdicts of the load profiles on made-up requests: thresholds, the knee, recovery."""

from __future__ import annotations

from bench.load import report
from bench.load.profiles import PROFILES, SEED_MIX, Stage, parse_mix, scaled, stage_at
from bench.load.report import Sample

LOAD, STRESS = PROFILES["load"], PROFILES["stress"]


def steady(stage: str, start: float, seconds: int, rate: int, ms: float = 20.0) -> list[Sample]:
    """`rate` requests in each second of a stage, all answered in `ms`."""
    return [
        Sample(start + second + i / rate, stage, "bounties", ms, report.OK)
        for second in range(seconds)
        for i in range(rate)
    ]


def load_run(ms: float = 20.0) -> list[Sample]:
    samples, start = [], 0.0
    for stage in LOAD.stages:
        samples += steady(stage.name, start, int(stage.seconds), int(stage.rate), ms)
        start += stage.seconds
    return samples


def test_the_profiles_are_the_seeds_phases_and_ramp() -> None:
    assert [(s.name, s.seconds, s.rate) for s in LOAD.stages] == [
        ("warm-up", 60, 10),
        ("sustained", 300, 50),
        ("peak", 120, 100),
        ("cool-down", 60, 10),
    ]
    assert [(s.seconds, s.rate) for s in STRESS.stages[:-1]] == [
        (60, 50), (60, 100), (60, 200), (60, 500), (60, 1000), (120, 1000),
    ]  # fmt: skip
    assert PROFILES["smoke"].seconds == 60
    assert SEED_MIX == {"core": 40, "payments": 20, "notifications": 20, "admin": 10, "health": 10}
    assert parse_mix("core=40, health=10") == {"core": 40.0, "health": 10.0}
    assert stage_at(scaled(LOAD, rates=2.0), 61) == Stage("sustained", 300, 100)
    assert stage_at(scaled(LOAD, times=0.5), 31) == Stage("sustained", 150, 50)
    assert stage_at(LOAD, 540) is None


def test_a_load_run_within_the_thresholds_passes() -> None:
    result = report.summarize(LOAD, load_run())
    assert result["passed"] is True
    assert result["overall"]["requests"] == 10 * 60 + 50 * 300 + 100 * 120 + 10 * 60
    assert [stage["rate"] for stage in result["stages"]] == [10.0, 50.0, 100.0, 10.0]
    assert "PASS  p95 < 200 ms" in report.table(result)


def test_slow_requests_or_errors_fail_the_run() -> None:
    slow = report.summarize(LOAD, load_run(ms=250.0))
    assert slow["checks"] == {
        "p95 < 200 ms": False,
        "mean < 100 ms": False,
        "errors < 1%": True,
    }
    samples = load_run()
    for index in range(0, len(samples), 50):  # 2 % fail
        sample = samples[index]
        samples[index] = Sample(sample.at, sample.stage, sample.name, 5.0, report.GRAPHQL_ERROR)
    failing = report.summarize(LOAD, samples)
    assert failing["checks"]["errors < 1%"] is False
    assert failing["passed"] is False
    assert "FAIL  errors < 1%" in report.table(failing)


def stress_run(above_knee: str = report.SHED, recover_from: int | None = 3) -> list[Sample]:
    """Healthy up to 200 req/s; from 500 on a third of the requests are refused."""
    samples, start = [], 0.0
    for stage in STRESS.stages[:-1]:
        rate, seconds = int(stage.rate), int(stage.seconds)
        if rate <= 200:
            samples += steady(stage.name, start, seconds, rate)
        else:
            for sample in steady(stage.name, start, seconds, rate // 10, ms=150.0):
                refused = int(sample.at * 1000) % 3 == 0
                samples.append(sample if not refused else Sample(
                    sample.at, sample.stage, sample.name, 1.0, above_knee
                ))  # fmt: skip
        start += stage.seconds
    recovery = STRESS.stages[-1]
    for sample in steady(recovery.name, start, int(recovery.seconds), 10):
        late = recover_from is not None and sample.at - start >= recover_from
        slow = Sample(sample.at, sample.stage, sample.name, 900.0, report.SHED)
        samples.append(sample if late else slow)
    return samples


def test_stress_reports_the_knee_and_passes_when_overload_is_shed_and_recovers() -> None:
    result = report.summarize(STRESS, stress_run())
    stress = result["stress"]
    assert stress["knee_stage"] == "ramp 200"
    assert stress["knee_rate"] == 200.0
    assert set(stress["above_knee_outcomes"]) == {report.OK, report.SHED}
    assert stress["recovered_after_seconds"] == 3.0
    assert result["passed"] is True


def test_stress_fails_on_500s_refusals_without_retry_after_or_no_recovery() -> None:
    errors = report.summarize(STRESS, stress_run(above_knee=report.SERVER_ERROR))
    assert errors["stress"]["checks"]["no 5xx other than 503 above the knee"] is False
    bare = report.summarize(STRESS, stress_run(above_knee=report.SHED_WITHOUT_RETRY_AFTER))
    assert bare["stress"]["checks"]["every 429/503 carries Retry-After"] is False
    stuck = report.summarize(STRESS, stress_run(recover_from=None))
    assert stuck["stress"]["recovered_after_seconds"] is None
    assert stuck["stress"]["checks"]["recovers within 30 s"] is False
    late = report.summarize(STRESS, stress_run(recover_from=40))
    assert late["stress"]["recovered_after_seconds"] == 40.0
    assert [r["passed"] for r in (errors, bare, stuck, late)] == [False] * 4
