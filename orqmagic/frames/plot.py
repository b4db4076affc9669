"""``plot_metrics``: one readable panel per metric, unit-aware, counters as rates, nulls as gaps.

Figures are transparent with mid-grey text (readable on JupyterLab light and dark),
bounded in size however many metrics are drawn, and use no pyplot state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..render.numbers import human
from ..render.theme import AVG, GREY, plot_rc

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_BYTE_UNITS = (("B", 1), ("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3), ("TiB", 1024**4))
MAX_HEIGHT = 15.0  # inches: many metrics share this instead of growing the image without bound


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


def _ensure_figure_display() -> None:
    """Show Figures in IPython even when no pyplot backend registered a formatter (we avoid pyplot)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    if Figure not in formatter.type_printers:
        formatter.for_type(Figure, lambda fig: figure_png(fig))


def figure_png(fig: Figure, dpi: int = 80, *, colors: int | None = 128) -> bytes:
    """PNG bytes with a transparent background; ``colors`` quantises to a palette (a third of the bytes)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, transparent=True)
    if not colors:
        return buffer.getvalue()
    from PIL import Image

    buffer.seek(0)
    image = Image.open(buffer).quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="png", optimize=False)
    return out.getvalue()


def grid_shape(count: int) -> tuple[int, int, float]:
    """(rows, columns, panel height): one column up to 3 metrics, then two, height bounded by MAX_HEIGHT."""
    columns = 1 if count <= 3 else 2
    rows = math.ceil(count / columns)
    return rows, columns, min(2.5, (MAX_HEIGHT - 0.8) / rows)


def plot_metrics(
    frame: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    stacked: bool = True,
    title: str | None = None,
    width: float | None = None,
    panel_height: float | None = None,
) -> Figure:
    """One panel per metric on a shared time axis (a two-column grid beyond three metrics).

    Counters are drawn as a rate (requests / s, tokens / min, ...), by-status
    counters as stacked bars (``stacked=False``: lines); histograms as quantile
    lines with the average dashed; nulls are gaps and a value with gaps on both
    sides is a dot. SUMMARY and CURRENT frames (one step) are labelled bars.
    """
    import matplotlib as mpl

    names = list(dict.fromkeys(frame["metric"].astype(str))) if metrics is None else list(metrics)
    if not names:
        raise ValueError("the frame has no metrics to plot")
    single_step = frame["time"].nunique() <= 1
    rows, columns, height = grid_shape(len(names))
    with mpl.rc_context(plot_rc()):
        from matplotlib.figure import Figure

        fig_width, fig_height = width or (10.0 if columns == 1 else 12.0), (panel_height or height) * rows + 0.7
        fig = Figure(figsize=(fig_width, fig_height))
        # fixed margins instead of constrained layout: the same look at a fraction of the cost for many panels
        fig.subplots_adjust(left=0.75 / fig_width, right=1 - 0.55 / fig_width * columns, top=1 - 0.75 / fig_height,
                            bottom=0.45 / fig_height, hspace=0.55 if rows > 1 else 0.2, wspace=0.32 + 0.04 * columns)
        grid = fig.subplots(rows, columns, sharex=not single_step, squeeze=False)
        axes = list(grid.ravel())
        groups = dict(iter(frame.groupby("metric", observed=True, sort=False)))
        for ax, name in zip(axes, names, strict=False):
            _panel(ax, groups.get(name, frame.iloc[:0]), name, frame.attrs, single_step, stacked, len(names) > 3)
        for spare in axes[len(names):]:
            spare.set_visible(False)
            above = grid[rows - 2, columns - 1] if rows > 1 else None
            if above is not None:
                above.xaxis.set_tick_params(labelbottom=True)
        if not single_step:
            from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

            locator = AutoDateLocator(maxticks=6 if columns > 1 else 9)
            axes[0].xaxis.set_major_locator(locator)
            axes[0].xaxis.set_major_formatter(ConciseDateFormatter(locator))
        fig.suptitle(title or _default_title(frame), fontsize=11, color=GREY, y=1 - 0.12 / fig_height, va="top")
    _ensure_figure_display()
    return fig


def _panel(ax: Axes, sub: pd.DataFrame, name: str, attrs: dict[str, Any], single_step: bool, stacked: bool,
           compact: bool) -> None:
    values = sub["value"].to_numpy(dtype=float)
    if sub.empty or not np.isfinite(values).any():
        ax.set_title(pretty_metric(name), loc="left", fontsize=9 if compact else 10)
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color=GREY, fontsize=10)
        ax.set_yticks([])
        if single_step:
            ax.set_xticks([])  # no axis for values that do not exist
        return
    unit, kind = str(sub["unit"].iloc[0]), str(sub["kind"].iloc[0])
    step = attrs.get("step_seconds")
    rate = kind == "COUNTER" and bool(step) and not single_step
    if rate:
        _, label = counter_rate(name, values, float(step))
        factor = (60.0 if label.endswith("/ min") else 1.0) / float(step)
    else:
        factor, label = scale_for(unit, values)
        if kind == "COUNTER" and single_step:
            label = f"{label}, total" if attrs.get("mode") == "SUMMARY" else label
    if single_step:
        _bars(ax, sub, factor)
    elif kind == "COUNTER" and "status" in sub and sub["status"].notna().any() and stacked:
        _stacked_bars(ax, sub, factor, float(step or 0))
    else:
        _lines(ax, sub, factor)
    what = "rate" if rate else kind.lower()
    ax.set_title(f"{pretty_metric(name)}  ·  {what}", loc="left", fontsize=9 if compact else 10)
    if single_step:
        ax.set_xlabel(label)
    else:
        ax.set_ylabel(label)
    ax.grid(True, axis="x" if single_step else "y")
    if compact and not single_step:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))  # short panels: fewer, rounder ticks (and less to lay out)
    if not single_step and sub["series"].nunique() > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, handlelength=1.2, borderaxespad=0.2)


def _default_title(frame: pd.DataFrame) -> str:
    attrs = frame.attrs
    where = " / ".join(str(x) for x in (attrs.get("model_id"), attrs.get("deployment_id")) if x) or "Baseten deployment"
    window = attrs.get("window") or (None, None)
    if attrs.get("mode") == "CURRENT":
        return f"{where}: now"
    if window[0] is not None and window[1] is not None:
        span = window[1] - window[0]
        step = attrs.get("step_seconds")
        per = f", {_human(pd.Timedelta(seconds=step))} steps" if step else ""
        return f"{where}: {attrs.get('mode', '').lower()} over {_human(span)} to {window[1]:%Y-%m-%d %H:%M} UTC{per}"
    return where


def _human(span: pd.Timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} h" if hours >= 1 else f"{hours * 60:g} min"


def _series_table(sub: pd.DataFrame, factor: float) -> pd.DataFrame:
    table = sub.pivot_table(index="time", columns="series", values="value", aggfunc="first", dropna=False, observed=True, sort=False)
    return table * factor


def isolated(values: np.ndarray) -> np.ndarray:
    """Where a value has no neighbour on either side: a line cannot show it, a dot can."""
    finite = np.isfinite(values)
    before = np.concatenate(([False], finite[:-1]))
    after = np.concatenate((finite[1:], [False]))
    return finite & ~before & ~after


def _lines(ax: Axes, sub: pd.DataFrame, factor: float) -> None:
    table = _series_table(sub, factor)
    times = table.index.to_numpy()
    for series in table.columns:
        style: dict[str, Any] = {"linewidth": 1.4}
        if series == "avg":
            style = {"linewidth": 1.6, "linestyle": "--", "color": AVG}
        values = table[series].to_numpy(dtype=float)
        (line,) = ax.plot(times, values, label=str(series), **style)  # NaN breaks the line: a gap
        lone = isolated(values)
        if lone.any():
            ax.plot(times[lone], values[lone], linestyle="none", marker="o", markersize=3.5, color=line.get_color())


def _stacked_bars(ax: Axes, sub: pd.DataFrame, factor: float, step_seconds: float) -> None:
    """Per-step totals by status, stacked as steps: a lone step is a visible block, a missing step is empty.

    Each step is two points (its start and end) of one ``fill_between`` per series, split where values are
    missing: one polygon collection per series instead of a rectangle per step, so long windows stay fast.
    """
    from matplotlib.dates import date2num

    table = _series_table(sub, factor)
    starts = date2num(table.index.to_pydatetime())
    x = np.column_stack((starts, starts + (step_seconds or 60) / 86_400)).ravel()
    lower = np.zeros(len(table))
    for i, series in enumerate(table.columns):
        values = table[series].to_numpy(dtype=float)
        present = np.isfinite(values)
        upper = np.where(present, lower + np.nan_to_num(values), lower)
        ax.fill_between(x, np.repeat(lower, 2), np.repeat(upper, 2), where=np.repeat(present, 2), interpolate=False,
                        label=str(series), alpha=0.85, color=f"C{i}", linewidth=0)
        lower = upper
    ax.set_ylim(bottom=0)
    ax.xaxis_date()


def _bars(ax: Axes, sub: pd.DataFrame, factor: float) -> None:
    """One step (SUMMARY, CURRENT): horizontal bars with their value written beside them."""
    series = sub["series"].astype(str).to_list()
    values = sub["value"].to_numpy(dtype=float) * factor
    colours = [AVG if s == "avg" else f"C{i}" for i, s in enumerate(series)]
    bars = ax.barh(series, np.nan_to_num(values), color=colours, height=0.6)
    ax.bar_label(bars, labels=[human(v) if np.isfinite(v) else "no data" for v in values], padding=3, fontsize=8,
                 color=GREY)
    ax.invert_yaxis()
    peak = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    ax.set_xlim(0, (peak or 1.0) * 1.3)  # room for the labels inside the frame
