"""What the instruction benchmarks share: requests straight into the ASGI app, counted by callgrind.

On a shared machine time moves by ±20% between rounds; `valgrind --tool=callgrind` counts the
instructions the gateway process executes, the same for the same work whatever else runs
(PostgreSQL and Redis are other processes and are not counted). A benchmark runs each
configuration as a child process (`python -m <module> --child ...`) under callgrind with
instrumentation off through start-up and warm-up, and switches it on (`counting()`) around
exactly the requests it measures; `instructions()` starts such a child and returns the count
divided by the number of requests. Requests go to the app with `call()` (no socket, no client).

Used by bench/auth_instructions.py, bench/execution_instructions.py,
bench/mutation_instructions.py, bench/monitoring_instructions.py and bench/operations_profile.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from starlette.types import ASGIApp, Message

COLLECTED = re.compile(r"Collected : (\d+)")


def require_valgrind() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian package valgrind)")


def instructions(
    module: str, arguments: Sequence[str], requests: int, printed: list[str] | None = None
) -> float:
    """Instructions per request of `python -m <module> --child <arguments...>` under callgrind,
    which must measure `requests` requests inside `counting()`; its standard output is appended
    to `printed` when given."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        module,
        "--child",
        *arguments,
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts every run
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{module} {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
    if printed is not None:
        printed.append(done.stdout)
    return int(found.group(1)) / requests


def switch(state: str) -> None:
    """Ask callgrind to start or stop counting, and wait until it has (it polls while we run)."""
    control = subprocess.Popen(
        ["callgrind_control", "-i", state, str(os.getpid())], stdout=subprocess.DEVNULL
    )
    while control.poll() is None:
        time.sleep(0.005)


@contextmanager
def counting() -> Iterator[None]:
    switch("on")
    try:
        yield
    finally:
        switch("off")


async def call(
    app: ASGIApp, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> tuple[int, bytes]:
    """POST `body` to /graphql straight into the ASGI app: (status, response body)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    received = False
    status, chunks = 0, []

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def bearer(token: str | None) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())] if token else []
