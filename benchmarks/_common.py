"""What the benchmarks share: a sandbox in its own process, timing helpers, the figure record."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import httpx


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    better: str = "lower"  # "lower": value <= target is met; "higher": value >= target
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.better == "lower" else self.value >= self.target

    def as_dict(self) -> dict:
        return {**asdict(self), "met": self.met}

    def line(self) -> str:
        target = "" if self.target is None else f"  (target {'≤' if self.better == 'lower' else '≥'} {self.target:g})"
        verdict = {True: "  ✓", False: "  ✗ MISSED", None: ""}[self.met]
        return f"  {self.name:<52} {self.value:>10.3f} {self.unit:<10}{target}{verdict}" + (f"  {self.note}" if self.note else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sandbox_process(*extra: str, token_rate: float = 0) -> Iterator[tuple[str, str]]:
    """A sandbox in a separate process (so client and server do not share a GIL)."""
    port, key = free_port(), f"bench_{secrets.token_hex(8)}"
    process = subprocess.Popen(
        [sys.executable, "-m", "orqmagic.sandbox", "--port", str(port), "--key", key, "--token-rate", str(token_rate), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/_sandbox/health", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the benchmark sandbox did not start") from None
            time.sleep(0.05)
    try:
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block (clients and kernels started in it read them), then restore all."""
    backup = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(backup)


def interleaved(functions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds per function, running them in turn so drifts in machine load hit all alike."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {sys.platform}"
