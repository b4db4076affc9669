"""Fault injection: one small spec language for the command line, a header, and the control endpoint.

A spec is comma-separated ``name=value`` pairs, e.g. ``status=429,retry_after=0.05,times=2``::

    latency_ms=250      wait before answering
    first_byte_ms=2000  wait before a stream's first byte (after the status line is decided)
    token_rate=30       stream chunks per second (0 = as fast as possible)
    drop_after=5        cut the stream connection after 5 chunks
    malformed_at=3      send chunk 3 as invalid JSON
    final_repeats=1     the final chunk repeats the whole text (as some servers do)
    status=503          answer with this error status ...
    times=3             ... for the first 3 matching requests only (default: every one)
    every=3             ... or for every 3rd matching request
    retry_after=1.5     with Retry-After (seconds) and retry-after-ms headers
    match=/v2/          only requests whose path starts with this are affected
    judge_bias=0.8      judge-bot says "the first answer wins" with this probability (seeded per prompt)
    judge_malformed=0.3 judge-bot answers something unparseable with this probability (seeded per prompt)
    judge_seed=7        the seed of those draws (default 0); see :mod:`.judge`
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, fields, replace

HEADER = "X-Sandbox-Fault"


class FaultSpecError(ValueError):
    """A fault spec that does not parse."""


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0
    first_byte_ms: float = 0
    token_rate: float | None = None
    drop_after: int | None = None
    malformed_at: int | None = None
    final_repeats: bool = False
    status: int | None = None
    times: int | None = None
    every: int | None = None
    retry_after: float | None = None
    match: str = ""
    judge_bias: float | None = None
    judge_malformed: float | None = None
    judge_seed: int | None = None

    def __post_init__(self) -> None:
        """Refuse values that cannot mean anything (status=99, every=0, retry_after=inf, ...)."""
        for name, low, high in _LIMITS:
            value = getattr(self, name)
            if value is None:
                continue
            if not math.isfinite(value) or not low <= value <= high:
                raise FaultSpecError(f"fault {name} must be a number from {low:g} to {high:g}, got {value!r}")

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        if not spec or not spec.strip():
            return cls()
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, object] = {}
        for part in spec.split(","):
            name, sep, raw = part.strip().partition("=")
            name = name.strip()
            if not sep or name not in types:
                raise FaultSpecError(f"unknown fault {part.strip()!r}; known: {', '.join(types)}")
            raw = raw.strip()
            try:
                kind = types[name]
                if name == "match":
                    values[name] = raw
                elif name == "final_repeats":
                    values[name] = raw.lower() in ("1", "true", "yes")
                elif "int" in str(kind):
                    values[name] = int(raw)
                else:
                    values[name] = float(raw)
            except ValueError:
                raise FaultSpecError(f"fault {name} needs a number, got {raw!r}") from None
        return cls(**values)  # type: ignore[arg-type]

    def merged(self, other: Faults) -> Faults:
        """``other``'s set values over this one's (per-request header over global faults)."""
        default = Faults()
        changes = {f.name: getattr(other, f.name) for f in fields(self) if getattr(other, f.name) != getattr(default, f.name)}
        return replace(self, **changes)


_LIMITS = (
    ("latency_ms", 0, 600_000), ("first_byte_ms", 0, 600_000), ("token_rate", 0, 1_000_000),
    ("drop_after", 0, 10_000_000), ("malformed_at", 1, 10_000_000), ("status", 400, 599),
    ("times", 1, 10_000_000), ("every", 1, 10_000_000), ("retry_after", 0, 3600),
    ("judge_bias", 0, 1), ("judge_malformed", 0, 1), ("judge_seed", 0, 2**63),
)


class FailureCounter:
    """Decides whether the n-th request matching a status fault fails (``times``/``every``)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def should_fail(self, faults: Faults, key: str) -> bool:
        if faults.status is None:
            return False
        with self._lock:
            n = self._counts.get(key, 0) + 1
            self._counts[key] = n
        if faults.every:
            return n % faults.every == 0 and (faults.times is None or n // faults.every <= faults.times)
        return faults.times is None or n <= faults.times

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
