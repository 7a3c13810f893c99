"""The load, stress and smoke profiles: phases, the scenario mix and the thresholds (data only).

Rates are requests per second offered (the issue's unit). Each virtual user paces itself at
`USER_REQUESTS_PER_SECOND`, so a phase at R req/s runs R / that many users; a server that keeps
up sees R req/s, one that falls behind sees fewer (the table prints both).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# The seed's mix (issue 17 item 5), in percent of scenarios started. An entry with no
# function in scenarios.SCENARIOS is reported as skipped and the rest share its weight.
SEED_MIX = {"core": 40, "payments": 20, "notifications": 20, "admin": 10, "health": 10}
# One request every 2 s per virtual user: a person using the app, not a tight loop.
USER_REQUESTS_PER_SECOND = 0.5


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    rate: float  # requests per second offered


@dataclass(frozen=True)
class Thresholds:
    p95_ms: float = 200.0
    mean_ms: float = 100.0
    error_ratio: float = 0.01


@dataclass(frozen=True)
class Profile:
    name: str
    stages: tuple[Stage, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    # Stress: the stages before `recovery_stage` ramp up; the last stage is the recovery window.
    stress: bool = False
    recovery_seconds: float = 30.0

    @property
    def seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)


PROFILES = {
    "load": Profile(
        "load",
        (
            Stage("warm-up", 60, 10),
            Stage("sustained", 300, 50),
            Stage("peak", 120, 100),
            Stage("cool-down", 60, 10),
        ),
    ),
    "stress": Profile(
        "stress",
        (
            Stage("ramp 50", 60, 50),
            Stage("ramp 100", 60, 100),
            Stage("ramp 200", 60, 200),
            Stage("ramp 500", 60, 500),
            Stage("ramp 1000", 60, 1000),
            Stage("hold 1000", 120, 1000),
            Stage("recovery", 60, 10),
        ),
        stress=True,
    ),
    "smoke": Profile("smoke", (Stage("smoke", 60, 10),)),
}


def scaled(profile: Profile, rates: float = 1.0, times: float = 1.0) -> Profile:
    """The profile with every rate and stage duration multiplied (a quick trial: times=0.25)."""
    stages = tuple(Stage(s.name, s.seconds * times, s.rate * rates) for s in profile.stages)
    return replace(profile, stages=stages)


def stage_at(profile: Profile, elapsed: float) -> Stage | None:
    """The stage running `elapsed` seconds into the profile (None once it is over)."""
    for stage in profile.stages:
        if elapsed < stage.seconds:
            return stage
        elapsed -= stage.seconds
    return None


def parse_mix(text: str) -> dict[str, float]:
    """`core=40,notifications=20` -> {"core": 40.0, "notifications": 20.0}."""
    mix: dict[str, float] = {}
    for item in text.split(","):
        name, _, weight = item.partition("=")
        if not name.strip() or not weight.strip():
            raise ValueError(f"mix items are name=weight, got {item!r}")
        mix[name.strip()] = float(weight)
    return mix
