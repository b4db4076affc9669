"""``plot_metrics``: one readable panel per metric, unit-aware, nulls as gaps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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
    if unit == "PER_SECOND":
        return 1.0, "per second"
    if unit == "COUNT":
        return 1.0, "count"
    if unit == "CELSIUS":
        return 1.0, "°C"
    if unit == "WATTS":
        return 1.0, "W"
    return 1.0, unit.lower()


def pretty_metric(name: str) -> str:
    return name.removeprefix("baseten_").replace("_", " ")


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


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def plot_metrics(
    frame: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    stacked: bool = True,
    title: str | None = None,
    width: float = 10.0,
    panel_height: float = 2.6,
) -> Figure:
    """One panel per metric on a shared time axis.

    Histograms draw their quantiles as lines with the average dashed; by-status
    counters are stacked (``stacked=False`` draws lines); nulls are gaps. SUMMARY
    and CURRENT frames (one step) are drawn as bars. Uses no pyplot state.
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(frame["metric"].astype(str))) if metrics is None else list(metrics)
    if not names:
        raise ValueError("the frame has no metrics to plot")
    single_step = frame["time"].nunique() <= 1
    fig = Figure(figsize=(width, panel_height * len(names) + 0.6), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=not single_step, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        sub = frame[frame["metric"].astype(str) == name]
        if sub.empty:
            ax.set_title(f"{pretty_metric(name)} (no data)", loc="left", fontsize=10)
            continue
        unit = str(sub["unit"].iloc[0])
        kind = str(sub["kind"].iloc[0])
        factor, label = scale_for(unit, sub["value"].to_numpy(dtype=float))
        if single_step:
            _bars(ax, sub, factor)
        elif kind == "COUNTER" and "status" in sub and sub["status"].notna().any() and stacked:
            _stacked(ax, sub, factor)
        else:
            _lines(ax, sub, factor)
        ax.set_title(f"{pretty_metric(name)}  ·  {kind.lower()}", loc="left", fontsize=10)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0] and sub["series"].nunique() > 1:
            ax.legend(loc="upper left", fontsize=8, ncols=min(5, sub["series"].nunique()), frameon=False)
    if not single_step:
        locator = AutoDateLocator()
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    fig.suptitle(title or _default_title(frame), fontsize=11)
    _ensure_figure_display()
    return fig


def _default_title(frame: pd.DataFrame) -> str:
    attrs = frame.attrs
    where = " / ".join(str(x) for x in (attrs.get("model_id"), attrs.get("deployment_id")) if x) or "Baseten deployment"
    window = attrs.get("window") or (None, None)
    if attrs.get("mode") == "CURRENT":
        return f"{where}: now"
    if window[0] is not None and window[1] is not None:
        span = window[1] - window[0]
        return f"{where}: {attrs.get('mode', '').lower()} over {_human(span)} to {window[1]:%Y-%m-%d %H:%M} UTC"
    return where


def _human(span: pd.Timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} h" if hours >= 1 else f"{hours * 60:g} min"


def _series_table(sub: pd.DataFrame, factor: float) -> pd.DataFrame:
    table = sub.pivot_table(index="time", columns="series", values="value", aggfunc="first", dropna=False, observed=True, sort=False)
    return table * factor


def _lines(ax: Axes, sub: pd.DataFrame, factor: float) -> None:
    table = _series_table(sub, factor)
    for series in table.columns:
        style: dict[str, Any] = {"linewidth": 1.4}
        if series == "avg":
            style = {"linewidth": 1.8, "linestyle": "--", "color": "black"}
        ax.plot(table.index, table[series].to_numpy(), label=str(series), **style)  # NaN breaks the line: a gap


def _stacked(ax: Axes, sub: pd.DataFrame, factor: float) -> None:
    table = _series_table(sub, factor)
    lower = np.zeros(len(table))
    for series in table.columns:
        values = table[series].to_numpy(dtype=float)
        upper = lower + values  # NaN propagates: a gap in every band above it
        ax.fill_between(table.index, lower, upper, label=str(series), alpha=0.8, step="post")
        lower = np.where(np.isnan(values), lower, upper)


def _bars(ax: Axes, sub: pd.DataFrame, factor: float) -> None:
    series = sub["series"].astype(str).to_list()
    values = (sub["value"].to_numpy(dtype=float) * factor).tolist()
    bars = ax.bar(series, values, color=["black" if s == "avg" else f"C{i}" for i, s in enumerate(series)])
    ax.bar_label(bars, fmt=lambda v: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}", fontsize=8)


def plot_batch(results: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Latency and time to first token per row, and completion tokens against latency."""
    from matplotlib.figure import Figure

    ok = results[results["error"].isna()]
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    bins = min(30, max(5, len(ok) // 4))
    left.hist(ok["latency_ms"].astype(float), bins=bins, alpha=0.8, label="latency")
    left.hist(ok["ttft_ms"].astype(float).dropna(), bins=bins, alpha=0.6, label="time to first token")
    for q, style in ((0.5, "-"), (0.9, "--"), (0.99, ":")):
        left.axvline(ok["latency_ms"].quantile(q), color="black", linestyle=style, linewidth=1, label=f"p{q * 100:g}")
    left.set_xlabel("ms")
    left.set_ylabel("rows")
    left.legend(fontsize=8, frameon=False)
    right.scatter(ok["completion_tokens"].astype(float), ok["latency_ms"].astype(float), s=12, alpha=0.7)
    right.set_xlabel("completion tokens")
    right.set_ylabel("latency (ms)")
    errors = int(results["error"].notna().sum())
    fig.suptitle(title or f"{results.attrs.get('deployment', 'batch')}: {len(results)} rows, {errors} errors", fontsize=11)
    _ensure_figure_display()
    return fig
