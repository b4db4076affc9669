"""Units and names for metric plots: humane scales, counters as rates, readable metric names."""

from __future__ import annotations

import numpy as np

_BYTE_UNITS = (("B", 1), ("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3), ("TiB", 1024**4))


def scale_for(unit: str, values: np.ndarray) -> tuple[float, str]:
    """(factor, label) so the values read naturally: ms for short seconds, humanised bytes, % for ratios."""
    finite = values[np.isfinite(values)]
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    if unit == "SECONDS":
        return (1000.0, "ms") if peak < 1 else (1.0, "s")
    if unit in ("BYTES", "MEBIBYTES"):
        base = 1 if unit == "BYTES" else 1024**2
        label, size = next(((label, size) for label, size in reversed(_BYTE_UNITS) if peak * base >= size), _BYTE_UNITS[0])
        return base / size, label
    if unit == "RATIO":
        return (100.0, "%") if peak <= 1.5 else (1.0, "ratio")
    return 1.0, {"PER_SECOND": "per second", "COUNT": "count", "CELSIUS": "°C", "WATTS": "W"}.get(unit, unit.lower())


def pretty_metric(name: str) -> str:
    """``baseten_inference_requests_total`` → ``inference requests total`` (the raw name stays in tooltips)."""
    return name.removeprefix("baseten_").replace("_", " ")


def counter_rate(name: str, values: np.ndarray, step_seconds: float) -> tuple[np.ndarray, str]:
    """A counter's per-step increments as a rate, so one traffic level reads the same at any window.

    Per second, or per minute when per second would read as small fractions;
    ``*_seconds_total`` (CPU time) per second of wall time is a number of cores.
    """
    per_second = values / step_seconds
    if name.endswith("_seconds_total"):
        return per_second, "cores (CPU s/s)"
    noun = name.removesuffix("_total").rsplit("_", 1)[-1]
    finite = per_second[np.isfinite(per_second)]
    if finite.size and float(np.abs(finite).max()) < 1:
        return per_second * 60, f"{noun} / min"
    return per_second, f"{noun} / s"
