"""How long the sandbox keeps a connection that is not asking anything.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but
only once a response has been sent, and it forgets even that as soon as a single
byte arrives. A client that connects and sends nothing, or half a request head
(a half-open connection, a slow-loris), was held for ever: 300 of 300 after 25 s.
Here every connection must send a whole request head within ``HEAD_TIMEOUT``
seconds of opening, or of its last response, or it is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0  # seconds for a whole request head; also the keep-alive timeout between requests


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on every request head (see the module docstring)."""

    head_timeout: float = HEAD_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout, self._expire)

    def _expire(self) -> None:
        self._head_timer = None
        waiting = self.conn.their_state in (h11.IDLE, h11.DONE) and (self.cycle is None or self.cycle.response_complete)
        if waiting and not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, *, head_timeout: float = HEAD_TIMEOUT, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration of every sandbox: guarded connections and a keep-alive limit."""
    protocol = type("SandboxH11Protocol", (GuardedH11Protocol,), {"head_timeout": head_timeout})
    return uvicorn.Config(app, http=protocol, timeout_keep_alive=max(1, round(head_timeout)), **options)
