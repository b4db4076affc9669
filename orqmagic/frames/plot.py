"""``plot_metrics``: one readable panel per metric, unit-aware, counters as rates, nulls as gaps.

Figures are transparent with mid-grey text (readable on JupyterLab light and dark),
bounded in size however many metrics are drawn, and use no pyplot state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..render.theme import GREY, plot_rc
from .panels import PanelSpec, draw_panel, isolated, panel_spec, update_panel
from .png import attach_canvas, ensure_figure_display
from .units import counter_rate, pretty_metric, scale_for

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_HEIGHT", "counter_rate", "grid_shape", "isolated", "plot_metrics", "pretty_metric", "scale_for"]

MAX_HEIGHT = 15.0  # inches: many metrics share this instead of growing the image without bound


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
    reuse: Figure | None = None,
) -> Figure:
    """One panel per metric on a shared time axis (a two-column grid beyond three metrics).

    Counters are drawn as a rate (requests / s, tokens / min, ...), by-status
    counters as stacked bars (``stacked=False``: lines); histograms as quantile
    lines with the average dashed; nulls are gaps and a value with gaps on both
    sides is a dot. SUMMARY and CURRENT frames (one step) are labelled bars.

    ``reuse``: a figure this function drew before. When it shows the same panels
    (metrics, series, kinds, size), it gets the new data in place and is returned,
    which costs a fraction of building 19 axes again (MetricsPanel's refreshes).

    ``frame``: a :func:`~orqmagic.fetch_metrics` frame; ``metrics``: which of its metrics, in order
    (default: all). ``title`` (default: model / deployment, mode, window and step). ``width`` (inches;
    default 10, or 12 for two columns) and ``panel_height`` (inches; default 2.5, less when many
    panels share the bounded height).
    """
    import matplotlib as mpl

    names = list(dict.fromkeys(frame["metric"].astype(str))) if metrics is None else list(metrics)
    if not names:
        raise ValueError("the frame has no metrics to plot")
    single_step = frame["time"].nunique() <= 1
    groups = dict(iter(frame.groupby("metric", observed=True, sort=False)))
    specs = [panel_spec(groups.get(name, frame.iloc[:0]), name, frame.attrs, single_step, stacked) for name in names]
    rows, columns, height = grid_shape(len(names))
    fig_width, fig_height = width or (10.0 if columns == 1 else 12.0), (panel_height or height) * rows + 0.7
    key = (single_step, fig_width, fig_height, tuple(spec.shape for spec in specs))
    heading = title or _default_title(frame)
    # grid lines set as the ticks are made (not re-set on every tick afterwards); no offset or scientific
    # notation, whose "1e6" would sit under the left-aligned title that is no longer moved at draw time
    rc = {**plot_rc(), "axes.grid": True, "axes.grid.axis": "x" if single_step else "y",
          "axes.formatter.useoffset": False, "axes.formatter.limits": (-9, 12)}
    state = getattr(reuse, "_orqmagic_panels", None)
    if reuse is not None and state is not None and state[0] == key and not single_step:
        with mpl.rc_context(rc):
            axes = reuse.axes[:len(specs)]
            _time_axis(axes, specs, columns)
            state[1][:] = [update_panel(ax, spec, handles) for ax, spec, handles in zip(axes, specs, state[1], strict=True)]
        reuse._suptitle.set_text(heading)  # type: ignore[union-attr]
        return reuse
    with mpl.rc_context(rc):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(fig_width, fig_height))
        # fixed margins instead of constrained layout: the same look at a fraction of the cost for many panels
        fig.subplots_adjust(left=0.75 / fig_width, right=1 - 0.55 / fig_width * columns, top=1 - 0.75 / fig_height,
                            bottom=0.45 / fig_height, hspace=0.55 if rows > 1 else 0.2, wspace=0.32 + 0.04 * columns)
        grid = fig.add_gridspec(rows, columns)
        axes = [fig.add_subplot(grid[i // columns, i % columns]) for i in range(len(names))]  # no spare axes
        if not single_step:
            for ax in axes[:-columns]:  # time labels only under the lowest panel of each column
                ax.xaxis.set_tick_params(labelbottom=False)
                ax.xaxis.offsetText.set_visible(False)
            _time_axis(axes, specs, columns)
        handles = [draw_panel(ax, spec, single_step, len(names) > 3) for ax, spec in zip(axes, specs, strict=True)]
        fig.suptitle(heading, fontsize=11, color=GREY, y=1 - 0.12 / fig_height, va="top")
    fig._orqmagic_panels = (key, handles)  # type: ignore[attr-defined]
    attach_canvas(fig)
    if not single_step:
        fig._orqmagic_layers = lambda: _layers(fig)  # type: ignore[attr-defined]
    ensure_figure_display()
    return fig


def _layers(fig: Figure) -> tuple[list[Artist], object]:
    """(what a refresh changes: data, axes with their ticks and units, the heading; what describes the rest)."""
    changing: list[Artist] = [fig._suptitle] if fig._suptitle is not None else []
    static = []
    for ax in fig.axes:
        changing += [*ax.collections, *ax.lines, ax.xaxis, ax.yaxis]
        legend = ax.get_legend()
        static.append((ax.get_title(loc="left"), tuple(ax.get_position().bounds), [t.get_text() for t in ax.texts],
                       [t.get_text() for t in legend.get_texts()] if legend else None))
    return changing, (tuple(fig.get_size_inches()), static)


def _time_axis(axes: list[Axes], specs: list[PanelSpec], columns: int) -> None:
    """One time range and one set of date ticks for every panel, worked out once.

    What ``sharex`` would give, without 19 shared axes consulting each other (quadratic) and
    running the date locator once per panel at every draw.
    """
    import matplotlib as mpl
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num, num2date
    from matplotlib.ticker import FixedLocator

    spans = [(spec.times[0], spec.times[-1] + np.timedelta64(int(spec.step_seconds or 60), "s")
              if spec.drawing == "stacked" else spec.times[-1])
             for spec in specs if spec.times is not None and len(spec.times)]
    if not spans:
        return
    low, high = date2num(min(s[0] for s in spans)), date2num(max(s[1] for s in spans))
    pad = (high - low) * mpl.rcParams["axes.xmargin"] or 1 / 24
    low, high = low - pad, high + pad
    locator = AutoDateLocator(maxticks=6 if columns > 1 else 9)
    ticks = locator.get_locator(num2date(low), num2date(high)).tick_values(num2date(low), num2date(high))
    for ax in axes:
        ax.set_xlim(low, high)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


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


