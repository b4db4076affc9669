"""Numbers rounded for humans: the same rules in tables, plot labels, footers and progress lines.

Rounding is to significant digits (three by default), never to a fixed number of
decimals: 0.92 and 0.88 stay apart where one decimal would show both as 0.9, and
integer digits are never dropped (7403.15 → 7,403). Values shown together (a JSON
answer, one row of a table) are given as many more digits as it takes to keep
distinct values distinct (:func:`digits_to_tell_apart`): rounding never merges them.

Pure functions with no heavy imports, so summaries, plots and the live view share them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

DIGITS = 3  # significant digits people read; more only when two values would otherwise look the same
MOST_DIGITS = 17  # a double is told apart from every other double at 17 significant digits


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return (isinstance(value, float) and math.isnan(value)) or (hasattr(value, "__float__") and math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def round_significant(value: float, digits: int = DIGITS) -> float:
    """``value`` to ``digits`` significant digits, keeping every integer digit: 1325.048 → 1325.0, 0.92134 → 0.921."""
    if value == 0 or not math.isfinite(value):
        return value
    magnitude = math.floor(math.log10(abs(value)))
    return round(value, max(0, digits - 1 - magnitude))


def digits_to_tell_apart(values: Iterable[Any], digits: int = DIGITS,
                         render: Callable[[float, int], object] = round_significant) -> int:
    """The fewest significant digits (at least ``digits``) at which distinct values render distinctly.

    ``render(value, digits)`` is how one value is shown; values that are equal stay equal.
    """
    numbers = {float(v) for v in values if not _missing(v) and not isinstance(v, bool)}
    numbers = {v for v in numbers if math.isfinite(v)}
    for candidate in range(digits, MOST_DIGITS + 1):
        if len({render(v, candidate) for v in numbers}) == len(numbers):
            return candidate
    return MOST_DIGITS


def human_all(values: Iterable[Any], digits: int = DIGITS) -> list[str]:
    """Several values shown side by side with :func:`human`, with the digits that keep distinct ones apart."""
    values = list(values)
    return [human(v, digits_to_tell_apart(values, digits, human)) for v in values]


def human(value: Any, digits: int = DIGITS) -> str:
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


def formatted(value: Any, unit: str | None = None, digits: int = DIGITS) -> str:
    """One cell of a summary table. ``unit``: ``ms``, ``%`` (a ratio), ``$``, ``tokens``, ``count`` or free text.

    A ``(value, low, high)`` tuple reads as an estimate with its interval, the unit written once when
    all three share it (``95.2 tokens (95.0–95.4)``, ``980 ms (950 ms–1.02 s)`` when they do not), with
    the digits that keep the three apart.
    """
    if isinstance(value, tuple) and len(value) == 3:
        needed = digits_to_tell_apart(value, digits, human)
        if unit in ("ms", "%", "$"):
            centre, low, high = (formatted(v, unit, needed) for v in value)
        else:  # one number of decimals for all three: 95.2 (95.0–95.4), not 95.2 (95–95.4)
            places = max(_decimals(v, needed) for v in value)
            centre, low, high = (formatted(v if _missing(v) else f"{float(v):,.{places}f}", None) for v in value)
            centre, low, high = (t if t == "—" or not unit or unit == "count" else f"{t} {unit}"
                                 for t in (centre, low, high))
        if low == high == "—":
            return centre
        suffix = _suffix(centre)
        if suffix and _suffix(low) == _suffix(high) == suffix:
            low, high = low[: -len(suffix)], high[: -len(suffix)]
        return f"{centre} ({low}–{high})"
    if isinstance(value, str):
        return value
    if unit == "ms":
        return duration_ms(value)
    if unit == "%":
        return percent(value)
    if unit == "$":
        return money(value)
    text = human(value, digits)
    return f"{text} {unit}" if unit and unit not in ("count", "") and text != "—" else text


def _decimals(value: Any, digits: int) -> int:
    """The decimals :func:`human` shows for ``value`` (0 for whole numbers and blanks)."""
    if _missing(value) or isinstance(value, bool) or float(value) == 0 or float(value).is_integer():
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(float(value)))))


def _suffix(text: str) -> str:
    """The unit after a number (`` tokens``, `` ms``, `` %``), or ``""`` when the text is not ``<number> <unit>``."""
    number, space, unit = text.partition(" ")
    return f" {unit}" if space and unit and " " not in unit and any(c.isdigit() for c in number) else ""
