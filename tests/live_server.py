"""The real app under a real uvicorn on a free loopback port, in a thread of its own.

For clients that live outside the test process: a browser (tests/app/test_graphiql_browser.py)
and node (tests/app/test_graphql_http_audit.py). The app's lifespan runs in the server's own
event loop; stop it by leaving the context.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

STARTUP_TIMEOUT_SECONDS = 30


@contextlib.contextmanager
def live_server(app: Starlette) -> Iterator[str]:
    """Serve `app` on 127.0.0.1; yield its base URL (`http://127.0.0.1:PORT`)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, loop="asyncio", log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        listener.close()
