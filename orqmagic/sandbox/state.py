"""What the sandbox remembers: its key and faults, and a record of what it received."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .faults import FailureCounter, Faults

# A long-running sandbox must not grow without bound: the oldest records go first.
MAX_RECORDS = 20_000


@dataclass
class SandboxState:
    key: str
    faults: Faults = field(default_factory=Faults)
    token_rate: float = 0.0
    counter: FailureCounter = field(default_factory=FailureCounter)
    requests: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    galtea_metrics: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    dropped: int = 0

    def _cap(self, items: list[dict[str, Any]]) -> None:
        if len(items) > MAX_RECORDS:
            excess = len(items) - MAX_RECORDS
            del items[:excess]
            self.dropped += excess

    def log_request(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.requests.append({"method": method, "path": path, "status": status, "time": time.time()})
            self._cap(self.requests)

    def record(self, kind: str, **data: Any) -> None:
        with self.lock:
            self.received.append({"kind": kind, "time": time.time(), **data})
            self._cap(self.received)
            self._cap(self.streams)

    def remember_transaction(self, response_id: str, record: dict[str, Any]) -> None:
        """A response id that metrics may later name; the oldest are forgotten past :data:`MAX_RECORDS`."""
        with self.lock:
            self.transactions[response_id] = record
            while len(self.transactions) > MAX_RECORDS:
                del self.transactions[next(iter(self.transactions))]

    def prune_metrics(self) -> None:
        """Galtea metric definitions past :data:`MAX_RECORDS`: the oldest go (called with the state's lock held)."""
        del self.galtea_metrics[:max(0, len(self.galtea_metrics) - MAX_RECORDS)]

    def begin(self) -> None:
        with self.lock:
            self.in_flight += 1

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": list(self.requests),
                "received": list(self.received),
                "streams": list(self.streams),
                "dropped": self.dropped,
            }

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.received.clear()
            self.streams.clear()
        self.counter.reset()
