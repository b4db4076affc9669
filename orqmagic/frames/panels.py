"""One metric panel: what to draw (a ``PanelSpec``), drawing it, and updating it in place.

Splitting the decision (units, rate or level, lines or stacked steps) from the drawing lets a
refresh of the same metrics reuse the figure: the spec's ``shape`` says whether the artists
already on an axes can take the new data (``Line2D.set_data``) instead of building a new
figure, whose 19 axes with their ticks cost more than everything else in a refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..render.numbers import human_all
from ..render.theme import AVG, GREY
from .units import counter_rate, pretty_metric, scale_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class PanelSpec:
    name: str
    drawing: str  # "none" | "bars" | "stacked" | "lines"
    title: str
    label: str = ""
    factor: float = 1.0
    series: tuple[str, ...] = ()
    times: np.ndarray | None = None  # naive UTC datetime64, one per step
    values: np.ndarray | None = None  # (steps, series), scaled
    step_seconds: float = 0.0
    sub: pd.DataFrame | None = None  # single-step frames: drawn as bars from the rows

    @property
    def shape(self) -> tuple[str, str, str, tuple[str, ...]]:
        """What the artists depend on besides the data: equal shapes can be updated in place."""
        return self.name, self.drawing, self.title, self.series


def panel_spec(sub: pd.DataFrame, name: str, attrs: dict[str, Any], single_step: bool, stacked: bool) -> PanelSpec:
    values = sub["value"].to_numpy(dtype=float)
    if sub.empty or not np.isfinite(values).any():
        return PanelSpec(name, "none", pretty_metric(name))
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
    title = f"{pretty_metric(name)}  ·  {'rate' if rate else kind.lower()}"
    if single_step:
        return PanelSpec(name, "bars", title, label, factor, sub=sub)
    drawing = "stacked" if kind == "COUNTER" and "status" in sub and sub["status"].notna().any() and stacked else "lines"
    times, series, table = series_table(sub, factor)
    return PanelSpec(name, drawing, title, label, factor, series, times, table, float(step or 0))


def series_table(sub: pd.DataFrame, factor: float) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """(times, series names in order of appearance, values[time, series]): a pivot without pandas' pivot_table."""
    stamps = pd.DatetimeIndex(sub["time"])
    if stamps.tz is not None:
        stamps = stamps.tz_convert(None)  # naive UTC: matplotlib converts datetime64 arrays without a Python loop
    time_codes, times = pd.factorize(stamps, sort=True)
    series_codes, names = pd.factorize(sub["series"].astype(str), sort=False)
    table = np.full((len(times), len(names)), np.nan)
    table[time_codes[::-1], series_codes[::-1]] = sub["value"].to_numpy(dtype=float)[::-1] * factor  # first value wins
    return np.asarray(times, dtype="datetime64[ns]"), tuple(str(n) for n in names), table


def isolated(values: np.ndarray) -> np.ndarray:
    """Where a value has no neighbour on either side: a line cannot show it, a dot can."""
    finite = np.isfinite(values)
    before = np.concatenate(([False], finite[:-1]))
    after = np.concatenate((finite[1:], [False]))
    return finite & ~before & ~after


def draw_panel(ax: Axes, spec: PanelSpec, single_step: bool, compact: bool) -> list[Any]:
    """Draw ``spec`` on a fresh axes; returns the artists ``update_panel`` will feed new data to."""
    ax.set_title(spec.title, loc="left", fontsize=9 if compact else 10, y=1.0)  # fixed y: no per-draw title layout
    if spec.drawing == "none":
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color=GREY, fontsize=10)
        ax.set_yticks([])
        if single_step:
            ax.set_xticks([])  # no axis for values that do not exist
        return []
    if spec.drawing == "bars":
        _bars(ax, spec)
        ax.set_xlabel(spec.label)
        return []
    handles = _stacked(ax, spec) if spec.drawing == "stacked" else _lines(ax, spec)
    ax.set_ylabel(spec.label)
    if compact:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))  # short panels: fewer, rounder ticks (and less to lay out)
    if len(spec.series) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, handlelength=1.2, borderaxespad=0.2)
    return handles


def update_panel(ax: Axes, spec: PanelSpec, handles: list[Any]) -> list[Any]:
    """Give the artists of an axes drawn from a spec of the same shape the new data; rescale."""
    if spec.drawing == "none":
        return handles
    ax.set_ylabel(spec.label)  # the unit can change with the data (ms ↔ s, KiB ↔ MiB)
    if spec.drawing == "lines":
        assert spec.values is not None
        for (line, dots), values in zip(handles, spec.values.T, strict=True):
            line.set_data(spec.times, values)
            lone = isolated(values)
            dots.set_data(spec.times[lone], values[lone])
        ax.relim()
        ax.autoscale_view()
        return handles
    for band in handles:
        band.remove()
    ax.relim()  # forget the old bands' extent
    ax.set_autoscaley_on(True)
    handles = _stacked(ax, spec)
    ax.autoscale_view()
    ax.set_ylim(bottom=0)
    return handles


def _lines(ax: Axes, spec: PanelSpec) -> list[Any]:
    assert spec.values is not None and spec.times is not None
    handles = []
    for series, values in zip(spec.series, spec.values.T, strict=True):
        style: dict[str, Any] = {"linewidth": 1.4}
        if series == "avg":
            style = {"linewidth": 1.6, "linestyle": "--", "color": AVG}
        (line,) = ax.plot(spec.times, values, label=series, **style)  # NaN breaks the line: a gap
        lone = isolated(values)  # always a dots line (maybe empty), so a refresh can fill it
        (dots,) = ax.plot(spec.times[lone], values[lone], linestyle="none", marker="o", markersize=3.5,
                          color=line.get_color())
        handles.append((line, dots))
    return handles


def _stacked(ax: Axes, spec: PanelSpec) -> list[Any]:
    """Per-step totals by status, stacked as steps: a lone step is a visible block, a missing step is empty.

    Each step is two points (its start and end) of one ``fill_between`` per series, split where values are
    missing: one polygon collection per series instead of a rectangle per step, so long windows stay fast.
    """
    from matplotlib.dates import date2num

    assert spec.values is not None and spec.times is not None
    starts = date2num(spec.times)
    x = np.column_stack((starts, starts + (spec.step_seconds or 60) / 86_400)).ravel()
    lower = np.zeros(len(starts))
    bands = []
    for i, (series, values) in enumerate(zip(spec.series, spec.values.T, strict=True)):
        present = np.isfinite(values)
        upper = np.where(present, lower + np.nan_to_num(values), lower)
        bands.append(ax.fill_between(x, np.repeat(lower, 2), np.repeat(upper, 2), where=np.repeat(present, 2),
                                     interpolate=False, label=series, alpha=0.85, color=f"C{i}", linewidth=0))
        lower = upper
    ax.set_ylim(bottom=0)
    ax.xaxis_date()
    return bands


def _bars(ax: Axes, spec: PanelSpec) -> None:
    """One step (SUMMARY, CURRENT): horizontal bars with their value written beside them."""
    assert spec.sub is not None
    series = spec.sub["series"].astype(str).to_list()
    values = spec.sub["value"].to_numpy(dtype=float) * spec.factor
    colours = [AVG if s == "avg" else f"C{i}" for i, s in enumerate(series)]
    bars = ax.barh(series, np.nan_to_num(values), color=colours, height=0.6)
    texts = human_all(values)  # bars side by side: p90 and p99 that differ never get the same label
    ax.bar_label(bars, labels=[t if np.isfinite(v) else "no data" for t, v in zip(texts, values, strict=True)],
                 padding=3, fontsize=8, color=GREY)
    ax.invert_yaxis()
    peak = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    ax.set_xlim(0, (peak or 1.0) * 1.3)  # room for the labels inside the frame
