"""Colours that read on JupyterLab's light and dark themes.

HTML uses JupyterLab's CSS variables (with fallbacks for other front ends), so a
status follows the user's theme. Matplotlib cannot read CSS, so plots are
transparent and draw text, axes and grid in a mid grey that contrasts with both
a white and a near-black page.
"""

from __future__ import annotations

import html

GREY = "#8c8c8c"  # ~3.4:1 on white, ~6:1 on JupyterLab dark's #111: axes, text, grid
AVG = "#9a9a9a"

# Marks that every text font has (no emoji font needed: ✅ and ⏳ show as boxes without one); U+FE0E asks
# for the text form of the warning sign where an emoji font would draw it in colour.
MARK = {"ok": "✓", "error": "⚠\ufe0e", "warn": "⚠\ufe0e", "queued": "↻", "download": "↓"}

COLOURS = {
    "ok": "var(--jp-success-color1, #388e3c)",
    "error": "var(--jp-error-color1, #d32f2f)",
    "warn": "var(--jp-warn-color1, #f57c00)",
    "muted": "var(--jp-ui-font-color2, #757575)",
}


def status_html(kind: str, text: str, *, escape: bool = True) -> str:
    """One status line in the theme's success/error/warning colour; wraps at word boundaries."""
    body = html.escape(text) if escape else text
    return (f'<span class="orqmagic-status orqmagic-{kind}" style="color:{COLOURS[kind]};'
            f'white-space:normal;overflow-wrap:break-word;word-break:normal">{body}</span>')


def plot_rc() -> dict[str, object]:
    """matplotlib rc settings for transparent, theme-neutral figures."""
    return {
        "figure.facecolor": "none", "axes.facecolor": "none", "savefig.facecolor": "none",
        "savefig.transparent": True, "text.color": GREY, "axes.labelcolor": GREY, "axes.edgecolor": GREY,
        "axes.titlecolor": GREY, "xtick.color": GREY, "ytick.color": GREY, "grid.color": GREY, "grid.alpha": 0.35,
        "legend.labelcolor": GREY, "legend.frameon": False, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 9,
    }


def label_html(text: str, width: str = "80px") -> str:
    """A row label aligned like ipywidgets' own descriptions (right-aligned in a fixed width)."""
    return (f'<div style="width:{width};text-align:right;padding-right:8px;box-sizing:border-box;'
            f'line-height:28px">{html.escape(text)}</div>')
