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
import numbers
from collections.abc import Callable, Iterable
from typing import Any

DIGITS = 3  # significant digits people read; more only when two values would otherwise look the same
MOST_DIGITS = 17  # a double is told apart from every other double at 17 significant digits
# Outside [SMALL, LARGE) a float is written 1.23e-07 / 4.56e+18: a double holds no integer digits past ~1e15
# (its "1,234,567,890,123,456,789" would claim digits the data never had), and 1e-300 written out is
# three hundred zeros.
SMALL, LARGE = 1e-4, 1e15
_MISSING_TYPES = ("NAType", "NaTType")  # pandas.NA and pandas.NaT, recognised without importing pandas


def _missing(value: Any) -> bool:
    """None, NaN (any float type), ``pandas.NA`` and ``pandas.NaT``: no value to show."""
    if value is None or type(value).__name__ in _MISSING_TYPES:
        return True
    try:
        return (isinstance(value, float) and math.isnan(value)) or (hasattr(value, "__float__") and math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def _infinite(number: float, unit: str = "") -> str:
    return ("∞" if number > 0 else "-∞") + unit


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
    distinct = {float(v) for v in values if not _missing(v) and not isinstance(v, bool)}
    distinct = {v for v in distinct if math.isfinite(v)}
    for candidate in range(digits, MOST_DIGITS + 1):
        if len({render(v, candidate) for v in distinct}) == len(distinct):
            return candidate
    return MOST_DIGITS


def human_all(values: Iterable[Any], digits: int = DIGITS) -> list[str]:
    """Several values shown side by side with :func:`human`, with the digits that keep distinct ones apart."""
    values = list(values)
    return [human(v, digits_to_tell_apart(values, digits, human)) for v in values]


def human(value: Any, digits: int = DIGITS) -> str:
    """``digits`` significant digits, thousands separated: 7403.15 → ``7,403``, 0.01234 → ``0.0123``.

    Integers (Python or numpy) are shown exactly, however large: a float would change their digits
    past 2**53. Floats below 1e-4 or from 1e15 are written ``1.23e-07``; infinities ``∞``/``-∞``;
    missing values (None, NaN, ``pd.NA``, ``pd.NaT``) ``—``. A value just under a power of ten
    keeps its ``digits`` (9.9996 → ``10.0``, not ``10.00``).
    """
    if _missing(value):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    number = float(value)
    if number == 0:
        return "0"
    if not math.isfinite(number):
        return _infinite(number)
    if not SMALL <= abs(number) < LARGE:
        return f"{number:.{max(0, digits - 1)}e}"
    if number.is_integer():
        return f"{int(number):,}"
    rounded = round_significant(number, digits)  # the magnitude after rounding: 9.9996 is 10.0 at 3 digits
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{decimals}f}"


def duration_ms(ms: Any, digits: int = DIGITS) -> str:
    """Milliseconds as people say them: ``87 ms``, ``1.23 s``, ``2 min 5 s``.

    The unit is chosen after rounding (999.6 ms is ``1.00 s``, not ``1000 ms``); a time under
    a millisecond keeps one significant digit (``0.3 ms``, never ``0 ms``); a negative time keeps
    its sign in front (``-1 min 30 s``). ``digits`` above :data:`DIGITS` adds as many decimals,
    so values shown together can be told apart (``1.001 s``, ``1.004 s``).
    """
    if _missing(ms):
        return "—"
    ms = float(ms)
    if not math.isfinite(ms):
        return _infinite(ms, " ms")
    sign, ms = ("-" if ms < 0 else ""), abs(ms)
    extra = max(0, digits - DIGITS)
    if round(ms, extra) < 1000:
        if ms and round(ms, extra) == 0:  # under a millisecond: its own significant digit(s), 0.3 ms or 2e-07 ms
            return f"{sign}{human(ms, 1 + extra)} ms"
        return f"{sign}{ms:.{extra}f} ms"
    if round(ms / 1000, 2 + extra) < 60:
        return f"{sign}{ms / 1000:.{2 + extra}f} s"
    if ms >= LARGE:  # no clock reads this: ~30,000 years
        return f"{sign}{human(ms / 60_000, digits)} min"
    minutes, seconds = divmod(round(ms / 1000, extra), 60)
    return f"{sign}{int(minutes)} min {seconds:.{extra}f} s"


def percent(ratio: Any, digits: int = 1) -> str:
    """A ratio as a percentage with ``digits`` decimals, and more where those would claim what is not so:
    a nonzero ratio never reads ``0.0 %``, nor one short of all ``100.0 %`` (1 error in 100,000 rows is ``0.001 %``)."""
    if _missing(ratio):
        return "—"
    value = float(ratio) * 100 + 0.0  # + 0.0: -0.0 is 0, never "-0.0 %"
    if not math.isfinite(value):
        return _infinite(value, " %")
    if abs(value) >= LARGE:
        return f"{human(value)} %"
    while digits < MOST_DIGITS and ((value != 0 and round(value, digits) == 0)
                                    or (value != 100 and round(value, digits) == 100)):
        digits += 1
    if value != 0 and round(value, digits) == 0:  # too small for decimals: 1e-20 %
        return f"{human(value, 2)} %"
    return f"{value:.{digits}f} %"


def money(value: Any, currency: str = "$", places: int | None = None) -> str:
    """``$1,234.50``, ``$0.0123``: cents from a dollar up, four decimals below; ``places`` overrides.
    A nonzero amount never reads as ``$0.0000`` (``$0.000001``), and the sign leads (``-$0.50``)."""
    if _missing(value):
        return "—"
    value = float(value)
    sign, amount = ("-" if value < 0 else ""), abs(value)
    if not math.isfinite(amount):
        return f"{sign}{currency}∞"
    if amount >= LARGE:
        return f"{sign}{currency}{human(amount)}"
    if places is None:
        places = 2 if amount >= 1 or amount == 0 else 4
    while amount and round(amount, places) == 0 and places < MOST_DIGITS:
        places += 1
    if amount and round(amount, places) == 0:  # too small for decimals: $1.0e-20
        return f"{sign}{currency}{human(amount, 2)}"
    return f"{sign}{currency}{amount:,.{places}f}"


def formatted(value: Any, unit: str | None = None, digits: int = DIGITS) -> str:
    """One cell of a summary table. ``unit``: ``ms``, ``%`` (a ratio), ``$``, ``tokens``, ``count`` or free text.

    A ``(value, low, high)`` tuple reads as an estimate with its interval, the unit written once when
    all three share it (``95.2 tokens (95.0–95.4)``, ``980 ms (950 ms–1.02 s)`` when they do not), with
    the digits that keep the three apart, whatever the unit (``1.001 s (1.000–1.004)``, not
    ``1.00 s (1.00–1.00)``).
    """
    if isinstance(value, tuple) and len(value) == 3:
        centre, low, high = _interval(value, unit, digits)
        if low == high == "—":
            return centre
        suffix = _suffix(centre)
        if suffix and _suffix(low) == _suffix(high) == suffix:
            low, high = low[: -len(suffix)], high[: -len(suffix)]
        return f"{centre} ({low}–{high})"
    if isinstance(value, str):
        return value
    if unit == "ms":
        return duration_ms(value, digits)
    if unit == "%":
        return percent(value)
    if unit == "$":
        return money(value)
    text = human(value, digits)
    return f"{text} {unit}" if unit and unit not in ("count", "") and text != "—" else text


def _interval(values: tuple[Any, Any, Any], unit: str | None, digits: int) -> list[str]:
    """An estimate and its bounds as three texts, distinct wherever the values are."""
    if unit == "ms":
        needed = digits_to_tell_apart(values, digits, duration_ms)
        return [duration_ms(v, needed) for v in values]
    if unit == "%":
        needed = digits_to_tell_apart(values, digits, lambda v, d: percent(v, d - digits + 1))
        return [percent(v, needed - digits + 1) for v in values]
    if unit == "$":
        base = 2 if all(_missing(v) or abs(float(v)) >= 1 or float(v) == 0 for v in values) else 4
        needed = digits_to_tell_apart(values, digits, lambda v, d: money(v, places=base + d - digits))
        return [money(v, places=base + needed - digits) for v in values]
    present = [float(v) + 0.0 for v in values if not _missing(v) and not isinstance(v, bool)]  # -0.0 is 0
    if any(v != 0 and not (math.isfinite(v) and SMALL <= abs(v) < LARGE) for v in present):
        needed = digits_to_tell_apart(values, digits, human)
        texts = [human(v, needed) for v in values]
    else:  # one number of decimals for all three, set by the estimate: 1.00 (0.50–1.50), 95.2 (95.0–95.4)
        lead = next((v for v in (*present[:1], *sorted(present, key=abs, reverse=True)) if v), 0.0)
        places = max(0, digits - 1 - math.floor(math.log10(abs(round_significant(lead, digits))))) if lead else 0
        if all(float(v).is_integer() for v in present):
            places = 0
        while places < MOST_DIGITS and len({f"{v:.{places}f}" for v in present}) < len(set(present)):
            places += 1
        texts = ["—" if _missing(v) else f"{float(v) + 0.0:,.{places}f}" for v in values]
    return [t if t == "—" or not unit or unit == "count" else f"{t} {unit}" for t in texts]


def _suffix(text: str) -> str:
    """The unit after a number (`` tokens``, `` ms``, `` %``), or ``""`` when the text is not ``<number> <unit>``."""
    number, space, unit = text.partition(" ")
    return f" {unit}" if space and unit and " " not in unit and any(c.isdigit() for c in number) else ""
