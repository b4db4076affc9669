"""``metrics_overview``: a tidy metrics frame in a few readable rows, one per metric and series.

What ``%baseten_metrics`` shows instead of printing thousands of rows: per series the unit people
read (ms, %, MiB, ...), the last value, the mean, min and max over the window, a counter's total, and
how many steps had data. A counter's values are totals per step (unit ``count / step``). Values are scaled to that unit and rounded to significant digits, because
this table is for reading; the full tidy frame is what ``-o VAR`` keeps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..render.numbers import round_significant
from .units import scale_for

COLUMNS = ["metric", "series", "unit", "last", "mean", "min", "max", "total", "steps_with_data", "steps"]


def metrics_overview(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """One row per (metric, series) of a :func:`~orqmagic.fetch_metrics` frame (``attrs`` kept).

    ``total`` is filled for counters only (their values are totals per step). ``digits``: the
    significant digits kept (at least; more only where the integer part needs them).
    """
    rows = []
    for (metric, series), group in frame.groupby(["metric", "series"], observed=True, sort=False):
        values = group.sort_values("time")["value"].to_numpy(dtype=float)
        present = values[np.isfinite(values)]
        kind = str(group["kind"].iloc[0])
        factor, unit = scale_for(str(group["unit"].iloc[0]), present)
        if kind == "COUNTER":
            factor, unit = 1.0, "count / step" if str(group["unit"].iloc[0]) == "COUNT" else f"{unit} / step"

        def shown(value: float, factor: float = factor) -> float:
            return round_significant(float(value) * factor, digits) if np.isfinite(value) else np.nan

        rows.append({"metric": str(metric), "series": str(series), "unit": unit,
                     "last": shown(present[-1]) if present.size else np.nan,
                     "mean": shown(present.mean()) if present.size else np.nan,
                     "min": shown(present.min()) if present.size else np.nan,
                     "max": shown(present.max()) if present.size else np.nan,
                     "total": shown(present.sum()) if kind == "COUNTER" and present.size else np.nan,
                     "steps_with_data": int(present.size), "steps": int(values.size)})
    overview = pd.DataFrame(rows, columns=COLUMNS)
    overview.attrs = dict(frame.attrs)
    return overview
