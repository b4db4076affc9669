"""Numbers rounded for humans: the same rules in tables, plot labels, footers and progress lines.

Pure functions with no heavy imports, so summaries, plots and the live view share them.
"""

from __future__ import annotations

import math
from typing import Any


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return (isinstance(value, float) and math.isnan(value)) or (hasattr(value, "__float__") and math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def human(value: Any, digits: int = 3) -> str:
    """``digits`` significant digits, thousands separated: 7403.15 → ``7,403``, 0.01234 → ``0.0123``."""
    if _missing(value):
        return "—"
    if isinstance(value, bool):
        return str(value)
    number = float(value)
    if number == 0:
        return "0"
    if float(number).is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    magnitude = math.floor(math.log10(abs(number)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{number:,.{decimals}f}"


def duration_ms(ms: Any) -> str:
    """Milliseconds as people say them: ``87 ms``, ``1.23 s``, ``2 min 5 s``."""
    if _missing(ms):
        return "—"
    ms = float(ms)
    if abs(ms) < 1000:
        return f"{ms:.0f} ms"
    if abs(ms) < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def percent(ratio: Any, digits: int = 1) -> str:
    return "—" if _missing(ratio) else f"{float(ratio) * 100:.{digits}f} %"


def money(value: Any, currency: str = "$") -> str:
    if _missing(value):
        return "—"
    value = float(value)
    return f"{currency}{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{currency}{value:.4f}"


def formatted(value: Any, unit: str | None = None) -> str:
    """One cell of a summary table. ``unit``: ``ms``, ``%`` (a ratio), ``$``, ``tokens``, ``count`` or free text.

    A ``(value, low, high)`` tuple reads as ``value (low–high)``: an estimate with its interval.
    """
    if isinstance(value, tuple) and len(value) == 3:
        centre, low, high = (formatted(v, unit) for v in value)
        return centre if low == high == "—" else f"{centre} ({low}–{high})"
    if isinstance(value, str):
        return value
    if unit == "ms":
        return duration_ms(value)
    if unit == "%":
        return percent(value)
    if unit == "$":
        return money(value)
    text = human(value)
    return f"{text} {unit}" if unit and unit not in ("count", "") and text != "—" else text
