"""A rogue server on 127.0.0.1: it answers each request with exactly the bytes a test scripted.

The sandbox is a well-behaved service that can be told to misbehave in named
ways; this one can say anything at all: any status and headers, wrong shapes,
garbage bytes, bad gzip, an endless line, a connection cut mid-event. Tests
script a reply, get a base URL that serves it, and count what arrived.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Reply:
    """What the rogue sends back: a status line, headers and body pieces (each written and flushed on its own).

    No Content-Length: the body ends when the connection closes, so any cut is a truncated stream.
    """

    pieces: list[bytes] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "text/event-stream"})

    def head(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} X", *(f"{k}: {v}" for k, v in self.headers.items()), "connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]


class Rogue:
    """Serves scripted replies under ``/r/<token>``; ``received`` lists every request that arrived, in order."""

    def __init__(self) -> None:
        self._replies: dict[str, Reply | Callable[[Received], Reply]] = {}
        self._tokens = itertools.count(1)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        rogue = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                rogue._answer(self.connection, self.rfile)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="rogue-server", daemon=True)
        self._thread.start()

    def url(self, reply: Reply | Callable[[Received], Reply]) -> str:
        """A base URL whose every request gets ``reply`` (or what ``reply(received)`` makes of the request)."""
        token = str(next(self._tokens))
        with self._lock:
            self._replies[token] = reply
        return f"http://127.0.0.1:{self.port}/r/{token}"

    def _answer(self, connection: socket.socket, rfile) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            line = rfile.readline(65536)
            if not line:
                return
            head += line
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        rfile.read(int(headers.get("content-length", 0)))
        received = Received(method, target, headers)
        with self._lock:
            self.received.append(received)
            reply = self._replies.get(target.split("/")[2] if target.startswith("/r/") else "", Reply(status=404))
        if callable(reply):
            reply = reply(received)
        try:
            connection.sendall(reply.head())
            for piece in reply.pieces:
                connection.sendall(piece)
        except OSError:
            pass  # the client gave up first (it found the stream malformed): that is allowed
        finally:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def rogue_server() -> Iterator[Rogue]:
    rogue = Rogue()
    try:
        yield rogue
    finally:
        rogue.close()
