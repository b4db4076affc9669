"""``plot_batch``: a batch's latencies at a glance, readable on light and dark themes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..render.numbers import human
from ..render.theme import GREY, plot_rc
from .png import ensure_figure_display as _ensure_figure_display

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def plot_batch(results: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Latency and time to first token per row (p50/p90/p99 marked and labelled), and tokens against latency."""
    import matplotlib as mpl
    from matplotlib.ticker import MaxNLocator

    ok = results[results["error"].isna()]
    latency = ok["latency_ms"].astype(float).dropna()
    with mpl.rc_context(plot_rc()):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 3.6), layout="constrained")
        left, right = fig.subplots(1, 2)
        bins = min(30, max(5, len(ok) // 4))
        left.hist(latency, bins=bins, alpha=0.8, label="latency", color="C0")
        left.hist(ok["ttft_ms"].astype(float).dropna(), bins=bins, alpha=0.6, label="time to first token", color="C1")
        for q, colour, style in ((0.5, "C2", "-"), (0.9, "C3", "--"), (0.99, "C4", ":")):
            if len(latency):
                value = latency.quantile(q)
                left.axvline(value, color=colour, linestyle=style, linewidth=1.6, label=f"p{q * 100:g} {human(value)} ms")
        left.set_title("latency per row", loc="left", fontsize=10)
        left.set_xlabel("ms")
        left.set_ylabel("rows")
        left.yaxis.set_major_locator(MaxNLocator(integer=True))
        left.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        right.scatter(ok["completion_tokens"].astype(float), ok["latency_ms"].astype(float), s=14, alpha=0.8, color="C0")
        right.set_title("latency against answer length", loc="left", fontsize=10)
        right.set_xlabel("completion tokens")
        right.set_ylabel("latency (ms)")
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in (left, right):
            ax.grid(True, axis="y")
        errors = int(results["error"].notna().sum())
        fig.suptitle(title or f"{results.attrs.get('deployment', 'batch')}: {len(results)} rows, {errors} errors",
                     fontsize=11, color=GREY)
    _ensure_figure_display()
    return fig
