"""Locust entry point for the profiles in `profiles.py` (headless; see bench/load/__main__.py).

    .venv/bin/locust -f bench/load/locustfile.py --headless --host http://127.0.0.1:8000 \\
        --load-profile smoke [--load-seed 1] [--load-mix core=40,health=10] \\
        [--load-rate-scale 1] [--load-time-scale 1] [--load-json out.json]

Every request is recorded with the stage it started in; when the profile ends the figures are
printed as a table, written as JSON, and the process exits non-zero if the profile's checks fail.
Run against a gateway whose TRUSTED_PROXIES include this machine: each virtual user sends its own
X-Forwarded-For address, as clients behind a load balancer do.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, LoadTestShape, constant, events, task
from locust.env import Environment

from bench.load import report
from bench.load.profiles import (
    PROFILES,
    SEED_MIX,
    USER_REQUESTS_PER_SECOND,
    parse_mix,
    scaled,
    stage_at,
)
from bench.load.scenarios import SCENARIOS

MAX_BACKOFF_SECONDS = 8.0
STOP_ALL_AT_ONCE = 10_000.0
_indexes = itertools.count()
_samples: list[report.Sample] = []
_clock = {"start": 0.0}
_active = {"profile": PROFILES["smoke"]}  # scaled as asked, at init


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--load-profile", choices=sorted(PROFILES), default="smoke")
    parser.add_argument(
        "--load-seed", type=int, default=1, help="fixes every user's scenario sequence"
    )
    parser.add_argument("--load-mix", default="", help="name=weight,... (default: the seed's mix)")
    parser.add_argument("--load-rate-scale", type=float, default=1.0, help="multiplies every rate")
    parser.add_argument(
        "--load-time-scale", type=float, default=1.0, help="multiplies every stage's duration"
    )
    parser.add_argument("--load-json", default="", help="where to write the figures as JSON")


def _options(environment: Environment) -> Any:
    return environment.parsed_options


def mix_of(environment: Environment) -> tuple[list[str], list[float], list[str]]:
    """Scenario names and weights to run, and the names in the mix that have no scenario yet."""
    text = _options(environment).load_mix
    mix = parse_mix(text) if text else dict(SEED_MIX)
    skipped = [name for name in mix if name not in SCENARIOS]
    names = [name for name in mix if name in SCENARIOS and mix[name] > 0]
    return names, [mix[name] for name in names], skipped


class GatewayUser(FastHttpUser):
    wait_time = constant(0)  # pacing is per request, in `pace`
    network_timeout = 10.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.index = next(_indexes)
        self.rng = random.Random(_options(self.environment).load_seed * 1_000_003 + self.index)
        self.names, self.weights, _ = mix_of(self.environment)
        self.token: str | None = None
        self.admin_token: str | None = None  # the admin scenario's own session
        self.failures = 0  # consecutive refusals and network errors
        self.address = f"10.{self.index >> 16 & 255}.{self.index >> 8 & 255}.{self.index & 255}"
        self.interval = 1 / USER_REQUESTS_PER_SECOND
        self.due = time.monotonic() + self.rng.uniform(0, self.interval)

    @task
    def visit(self) -> None:
        name = self.rng.choices(self.names, self.weights)[0]
        SCENARIOS[name](self)

    def pace(self) -> None:
        """One request per interval; a user that fell behind starts again from now (no burst)."""
        now = time.monotonic()
        if self.due > now:
            time.sleep(self.due - now)  # cooperative: locust patches the standard library
        self.due = max(self.due, now) + self.interval

    def headers(self, token: bool | str) -> dict[str, str]:
        """`token`: True for the user's own session, a string for that token, False for none."""
        headers = {"x-forwarded-for": self.address}
        bearer = token if isinstance(token, str) else self.token if token else None
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        return headers

    def back_off(self, response: Any) -> None:
        """As a client's retry link does: after a refusal or a network error, wait at least what
        Retry-After says, doubling (with jitter) over consecutive failures up to a cap."""
        retry_after = retry_after_of(response)
        if retry_after is None and response.status_code:
            self.failures = 0
            return
        self.failures += 1
        backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2**self.failures) * self.rng.uniform(0.5, 1.0)
        self.due = max(self.due, time.monotonic() + max(retry_after or 0.0, backoff))

    def get(self, path: str) -> None:
        self.pace()
        with self.client.get(
            path, headers=self.headers(False), name=path, catch_response=True
        ) as response:
            self.back_off(response)
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")

    def graphql(
        self,
        name: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        expect: str,
        token: bool | str = True,
    ) -> dict[str, Any] | None:
        """POST one operation; its `data`, or None (the request is then recorded as failed)."""
        self.pace()
        body = {"query": query, "variables": variables or {}}
        with self.client.post(
            "/graphql", json=body, headers=self.headers(token), name=name, catch_response=True
        ) as response:
            self.back_off(response)
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return None
            payload = response.json()
            data = payload.get("data") or {}
            if payload.get("errors") or data.get(expect) is None:
                codes = [e.get("extensions", {}).get("code") for e in payload.get("errors", [])]
                if "UNAUTHENTICATED" in codes and token is True:
                    self.token = None  # expired: the next scenario signs in again
                response.failure(f"GraphQL errors {codes}")
                return None
            return dict(data)


def retry_after_of(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def outcome(response: Any, exception: Any) -> str:
    status = getattr(response, "status_code", 0) or 0
    if status == 0:
        cause = getattr(response, "error", None) or exception
        text = f"{type(cause).__name__} {cause}".lower()
        return report.TIMEOUT if "timeout" in text or "timed out" in text else report.CONNECTION
    has_retry = retry_after_of(response) is not None
    if status in (429, 503):
        return report.SHED if has_retry else report.SHED_WITHOUT_RETRY_AFTER
    if status >= 500:
        return report.SERVER_ERROR
    if status >= 400:
        return report.CLIENT_ERROR
    if exception is None:
        return report.OK
    # A refusal inside a 200 (a throttled sign-in, say) that says when to come back is shedding.
    return report.SHED if has_retry else report.GRAPHQL_ERROR


@events.test_start.add_listener
def _started(environment: Environment, **kwargs: Any) -> None:
    _clock["start"] = time.time()
    _clock["load"] = os.getloadavg()[0]
    options = _options(environment)
    _, _, skipped = mix_of(environment)
    if skipped:
        print(f"mix: no scenario yet for {', '.join(skipped)}: skipped, the rest share the weight")
    profile = _active["profile"]
    print(f"profile {profile.name}: {profile.seconds:g} s, seed {options.load_seed}", flush=True)


@events.request.add_listener
def _recorded(
    name: str,
    response_time: float,
    response: Any,
    exception: Any,
    start_time: float,
    **kwargs: Any,
) -> None:
    at = start_time - _clock["start"]
    stage = stage_at(_active["profile"], max(at, 0.0))
    if stage is not None:
        sample = report.Sample(at, stage.name, name, response_time, outcome(response, exception))
        _samples.append(sample)


@events.init.add_listener
def _init(environment: Environment, **kwargs: Any) -> None:
    if environment.parsed_options is not None:
        options = environment.parsed_options
        _active["profile"] = scaled(
            PROFILES[options.load_profile], options.load_rate_scale, options.load_time_scale
        )


@events.quitting.add_listener
def _finished(environment: Environment, **kwargs: Any) -> None:
    options = _options(environment)
    result = report.summarize(_active["profile"], _samples)
    result["seed"] = options.load_seed
    result["machine"] = {
        "cpus": os.cpu_count(),
        "load_start": round(_clock["load"], 2),
        "load_end": round(os.getloadavg()[0], 2),
    }
    result["mix"] = dict(zip(*mix_of(environment)[:2], strict=True))
    result["skipped_scenarios"] = mix_of(environment)[2]
    print(report.table(result), flush=True)
    if options.load_json:
        Path(options.load_json).parent.mkdir(parents=True, exist_ok=True)
        Path(options.load_json).write_text(json.dumps(result, indent=2))
    environment.process_exit_code = 0 if result["passed"] else 1


class PhasedShape(LoadTestShape):
    """Users for the running stage's rate; None (stop) once the profile is over."""

    def tick(self) -> tuple[int, float] | None:
        stage = stage_at(_active["profile"], self.get_run_time())
        if stage is None:
            return None
        users = max(1, math.ceil(stage.rate / USER_REQUESTS_PER_SECOND))
        if users < self.get_current_user_count():
            return users, STOP_ALL_AT_ONCE  # the rate applies to stopping users too
        # A stage's new users arrive over about 10 s (each signs in first), not all at once.
        return users, max(10.0, users / 10)
