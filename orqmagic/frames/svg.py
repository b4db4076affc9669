"""Figures to SVG: vector plots that stay crisp and legible at any output width (the MetricsPanel's plot)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure_svg(fig: Figure) -> bytes:
    """SVG bytes with a transparent background; text stays text (smaller, selectable, drawn by the browser's font)."""
    import matplotlib as mpl

    out = io.BytesIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "orqmagic"}):
        fig.savefig(out, format="svg", transparent=True)
    return out.getvalue()
