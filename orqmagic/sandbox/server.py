"""Running the sandbox: in a background thread of this process, or as a program."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import socket
import threading
import time
import urllib.request
from typing import Any

from .faults import Faults
from .state import SandboxState

# Fast enough for tests, slow enough to watch an answer stream in a demo.
DEMO_TOKEN_RATE = 60.0


class Sandbox:
    """A local emulator of the orq.ai, Baseten and Galtea endpoints, on 127.0.0.1.

    >>> with Sandbox() as sb:
    ...     client = OrqClient(base_url=sb.url, api_key=sb.key)

    ``token_rate`` is stream chunks per second (0: as fast as possible);
    ``faults`` is a spec for :class:`~orqmagic.sandbox.faults.Faults`;
    ``head_timeout`` is how long a connection may go without sending a whole
    request head before it is closed (default 10 s; see :mod:`.connections`).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        key: str | None = None,
        token_rate: float = 0.0,
        faults: str | None = None,
        host: str = "127.0.0.1",
        head_timeout: float | None = None,
    ) -> None:
        self.state = SandboxState(
            key=key or f"sbx_{secrets.token_urlsafe(12)}",
            faults=Faults.parse(faults),
            token_rate=token_rate,
        )
        self._host = host
        self._port = port
        from .connections import HEAD_TIMEOUT

        self._head_timeout = HEAD_TIMEOUT if head_timeout is None else head_timeout
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def key(self) -> str:
        return self.state.key

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() or use it as a context manager")
        return f"http://{self._host}:{self._port}"

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self._server else "stopped"
        return f"Sandbox({state})"

    def start(self) -> Sandbox:
        import uvicorn

        from .app import build_app
        from .connections import server_config

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        config = server_config(
            build_app(self.state), head_timeout=self._head_timeout, log_level="critical", access_log=False,
            lifespan="off", timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="orqmagic-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- controls and inspection (what tests and demos use) ----------------------

    def set_faults(self, spec: str | None) -> None:
        """Replace the global faults (``None`` or ``""`` clears them) and reset their counters."""
        self.state.faults = Faults.parse(spec)
        self.state.counter.reset()

    def received(self, kind: str | None = None) -> list[dict[str, Any]]:
        """What the sandbox stored (feedback, metric definitions), oldest first."""
        items = self.state.snapshot()["received"]
        return [r for r in items if kind is None or r["kind"] == kind]

    def requests(self) -> list[dict[str, Any]]:
        """Every request that reached a service route (method, path, status)."""
        return self.state.snapshot()["requests"]

    def in_flight(self) -> int:
        """Requests being handled right now (a test can wait for the server to finish one)."""
        return self.state.in_flight

    def streams(self) -> list[dict[str, Any]]:
        """Every stream served, with chunks sent and whether the client went away."""
        return self.state.snapshot()["streams"]


_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """The process-wide sandbox that sandbox mode points at, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            rate = float(os.environ.get("ORQMAGIC_SANDBOX_TOKEN_RATE", DEMO_TOKEN_RATE))
            _shared = Sandbox(token_rate=rate, faults=os.environ.get("ORQMAGIC_SANDBOX_FAULTS")).start()
            atexit.register(_shared.stop)
        return _shared


def fetch_received(url: str, key: str) -> dict[str, Any]:
    """The inspection record of a sandbox running in another process (it needs that sandbox's key)."""
    request = urllib.request.Request(f"{url.rstrip('/')}/_sandbox/received", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
