"""Headless Chromium driven over the DevTools protocol (CDP), with no browser download: Debian's
`chromium` package and the `websockets` client uvicorn already brings.

The browser reaches only the server under test: every request to another host is failed by
request interception (and recorded in `blocked`), DNS answers nothing but 127.0.0.1, and any
other traffic goes to a dead proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
# Chromium as root in a container: no sandbox, no GPU, nothing that phones home.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",  # loopback bypasses it; everything else goes nowhere
    "--remote-debugging-port=0",
    "--window-size=1400,1000",
)


def chromium_path() -> str | None:
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")


class Page:
    """One tab, attached in flat mode; `send` waits for the command's answer."""

    def __init__(self, socket: ClientConnection, allowed_origin: str) -> None:
        self.socket = socket
        self.allowed = urlsplit(allowed_origin).netloc
        self.session_id = ""
        self.ids = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.blocked: list[str] = []
        self.websockets: list[str] = []
        self.websocket_opened = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.reader = asyncio.create_task(self._read())

    async def send(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session and self.session_id:
            message["sessionId"] = self.session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[number] = future
        await self.socket.send(json.dumps(message))
        return await asyncio.wait_for(future, 30)

    async def evaluate(self, expression: str) -> Any:
        answer = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(answer["exceptionDetails"])
        return answer["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 60) -> Any:
        """Poll `expression` until it is truthy; its value."""
        async with asyncio.timeout(seconds):
            while True:
                value = await self.evaluate(expression)
                if value:
                    return value
                await asyncio.sleep(0.2)

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message:
                future = self.waiting.pop(message["id"], None)
                if future is not None and not future.done():
                    if "error" in message:
                        future.set_exception(RuntimeError(message["error"]))
                    else:
                        future.set_result(message.get("result", {}))
            elif message.get("method") == "Fetch.requestPaused":
                task = asyncio.create_task(self._intercept(message["params"]))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            elif message.get("method") == "Network.webSocketCreated":
                self.websockets.append(message["params"]["url"])
                self.websocket_opened.set()

    async def _intercept(self, params: dict[str, Any]) -> None:
        url = params["request"]["url"]
        scheme, netloc = urlsplit(url)[:2]
        if scheme == "data" or netloc == self.allowed:
            await self.send("Fetch.continueRequest", requestId=params["requestId"])
        else:
            self.blocked.append(url)
            await self.send(
                "Fetch.failRequest", requestId=params["requestId"], errorReason="BlockedByClient"
            )


@contextlib.asynccontextmanager
async def browser_page(allowed_origin: str) -> AsyncIterator[Page]:
    """A headless Chromium tab that may talk to `allowed_origin` only."""
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("chromium is not installed")
    # Chromium's helpers may still write to the profile for a moment after it exits.
    with tempfile.TemporaryDirectory(
        prefix="bountyexpo-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = await asyncio.create_subprocess_exec(
            executable,
            *FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: ended whole, helpers included
        )
        try:
            endpoint = await _devtools_endpoint(Path(profile), process)
            async with connect(endpoint, max_size=None) as socket:
                page = Page(socket, allowed_origin)
                target = await page.send("Target.createTarget", session=False, url="about:blank")
                attached = await page.send(
                    "Target.attachToTarget",
                    session=False,
                    targetId=target["targetId"],
                    flatten=True,
                )
                page.session_id = attached["sessionId"]
                await page.send("Fetch.enable", patterns=[{"urlPattern": "*"}])
                for domain in ("Network", "Page", "Runtime"):
                    await page.send(f"{domain}.enable")
                try:
                    yield page
                finally:
                    page.reader.cancel()
        finally:
            await _end(process)


async def _end(process: asyncio.subprocess.Process) -> None:
    """Stop the browser and every helper it started (the group we gave it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # helpers that outlived the browser


async def _devtools_endpoint(profile: Path, process: asyncio.subprocess.Process) -> str:
    """The browser's WebSocket URL, from the file Chromium writes once it listens."""
    marker = profile / "DevToolsActivePort"
    async with asyncio.timeout(60):
        while not marker.exists() or len(marker.read_text().splitlines()) < 2:
            if process.returncode is not None:
                raise RuntimeError(f"chromium exited with {process.returncode}")
            await asyncio.sleep(0.1)
    port, path = marker.read_text().splitlines()[:2]
    return f"ws://127.0.0.1:{port}{path}"
