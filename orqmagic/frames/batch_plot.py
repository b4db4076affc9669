"""``plot_batch``: a batch's timings at a glance, each panel answering one question, on light and dark themes.

1. *How long did a row take, end to end?* A histogram of latency, rows counted on the y axis.
2. *How long until the first token?* The same for time to first token, on its own axis (on a shared
   axis the short TTFTs squeezed the latency bars into one corner).
3. *Do longer answers take longer?* Latency against completion tokens.

Every axis starts at 0, so a 1 % spread looks like one (a zoomed axis made 3,820–3,860 ms look
like a wide range); the spread itself is printed under each histogram. Percentiles are marked
above the bars, not drawn through them, in colours that read on white and on near-black.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..render.numbers import human, human_all
from ..render.theme import GREY, plot_rc
from .png import ensure_figure_display as _ensure_figure_display

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BARS = "#4f8fd6"  # a mid blue: 3.5:1 on white, 5:1 on JupyterLab dark
# p50, p90, p99: mid-luminance hues that read on both themes (checked at 3:1 or better on #fff and #111)
PERCENTILES = ((0.5, "#2e9e57"), (0.9, "#e07b00"), (0.99, "#e0457b"))


def plot_batch(results: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Three panels for the rows that answered: latency per row, time to first token per row, latency
    against answer length. Axes start at 0; p50/p90/p99 are marked above each histogram with their values.

    ``results`` is what :func:`orqmagic.invoke_many` returns (``latency_ms``, ``ttft_ms``,
    ``completion_tokens`` and ``error`` columns); ``title`` replaces the default heading
    (``<deployment>: <rows> rows, <errors> errors``).
    """
    import matplotlib as mpl

    ok = results[results["error"].isna()]
    with mpl.rc_context(plot_rc()):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(12, 4.2), layout="constrained")
        latency_ax, ttft_ax, scatter_ax = fig.subplots(1, 3)
        _histogram(latency_ax, ok["latency_ms"], "how long each row took", "latency, end to end (ms)")
        _histogram(ttft_ax, ok["ttft_ms"], "how long until the first token", "time to first token (ms)")
        _scatter(scatter_ax, ok)
        errors = int(results["error"].notna().sum())
        fig.suptitle(title or f"{results.attrs.get('deployment', 'batch')}: {len(results)} rows, {errors} errors",
                     fontsize=11, color=GREY)
    _ensure_figure_display()
    return fig


def _histogram(ax: Axes, column: pd.Series, question: str, xlabel: str) -> None:
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    values = column.astype(float).dropna().to_numpy()
    ax.set_title(question, loc="left", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, axis="y")
    if not len(values):
        ax.text(0.5, 0.5, "no rows answered", transform=ax.transAxes, ha="center", va="center", color=GREY)
        ax.set_xlim(0, 1)
        return
    high = float(values.max()) or 1.0
    edges = np.linspace(0, high * 1.02, min(40, max(10, len(values) // 2)) + 1)
    ax.hist(values, bins=edges, color=BARS, alpha=0.9, zorder=2)
    ax.set_xlim(0, edges[-1] * 1.04)
    top = ax.get_ylim()[1] * 1.22
    ax.set_ylim(0, top)  # headroom: the percentile marks sit above the tallest bar
    marks = [(q, colour, float(np.quantile(values, q))) for q, colour in PERCENTILES]
    texts = human_all([value for _, _, value in marks])
    for (q, colour, value), text in zip(marks, texts, strict=True):
        ax.plot([value], [top * 0.94], marker="v", markersize=8, color=colour, linestyle="none", zorder=3,
                label=f"p{q * 100:g} {text} ms")
    low = float(values.min())
    spread = f"{(high - low) / high:.0%}" if high else "0%"
    # below the panel, so it never covers a bar or a mark; the range says how wide the spread really is
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, handletextpad=0.1, columnspacing=1.0,
              title=f"{len(values)} rows from {human(low)} to {human(high)} ms (spread {spread} of the longest)",
              title_fontsize=8)


def _scatter(ax: Axes, ok: pd.DataFrame) -> None:
    from matplotlib.ticker import MaxNLocator

    tokens, latency = ok["completion_tokens"].astype(float), ok["latency_ms"].astype(float)
    ax.set_title("do longer answers take longer?", loc="left", fontsize=10)
    ax.set_xlabel("completion tokens (per row)")
    ax.set_ylabel("latency, end to end (ms)")
    ax.grid(True)
    ax.scatter(tokens, latency, s=16, alpha=0.75, color=BARS, zorder=2, linewidths=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, (float(tokens.max()) if tokens.notna().any() else 1.0) * 1.1 or 1.0)
    ax.set_ylim(0, (float(latency.max()) if latency.notna().any() else 1.0) * 1.1 or 1.0)  # from 0: spreads honest
