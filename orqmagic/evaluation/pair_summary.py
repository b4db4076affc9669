"""The summary of A against B: the plain sentence first, then the numbers behind it, in HTML and text.

Plain HTML (the theme's own text colour, JupyterLab's CSS variables for the one
coloured word), so it reads on light and dark themes and a saved notebook shows
exactly what was computed, with no kernel. The raw statistics are there for
code: ``summary["p_value"]``, ``summary.to_dict()``, ``summary.to_series()``.
"""

from __future__ import annotations

import html
import math
from typing import Any

from .pairstats import pct, pct_range, sentence


class PairwiseSummary:
    """Statistics of a pairwise run, with its sentence; indexable like a Series."""

    def __init__(self, stats: dict[str, Any], a: str = "A", b: str = "B", *, judge: str = "",
                 criteria: str = "") -> None:
        self.stats, self.a, self.b, self.judge, self.criteria = dict(stats), a, b, judge, criteria
        self.sentence = sentence(self.stats, a, b)

    def __getitem__(self, name: str) -> Any:
        return self.stats[name]

    def __contains__(self, name: object) -> bool:
        return name in self.stats

    def keys(self) -> list[str]:
        return list(self.stats)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.stats)

    def to_series(self) -> Any:
        import pandas as pd

        return pd.Series(self.stats, name=f"{self.b} vs {self.a}")

    def table(self) -> Any:
        """The numbers as a :class:`~orqmagic.render.table.Summary` (rounded for people)."""
        from ..render.table import Summary

        s, a, b = self.stats, self.a, self.b
        title = f"{a} (A) vs {b} (B)" + (f" · judge {self.judge}" if self.judge else "")
        table = Summary(title)
        table.add("cases", s["cases"], "count")
        table.add("judged", s["judged"], "count", label="judged in both orders" if not math.isnan(
            s["inconsistency_rate"]) else "compared")
        table.add("a_wins", s["a_wins"], "count", label=f"{a} wins")
        table.add("b_wins", s["b_wins"], "count", label=f"{b} wins")
        two_orders = not math.isnan(s["inconsistency_rate"])
        table.add("ties", s["ties"], "count",
                  note=f"{s['inconsistent']} of them because the orders disagreed" if two_orders and s["ties"] else "")
        rate = "—" if not s["decided"] else \
            f"{pct(s['b_win_rate'])} ({pct_range(s['b_win_rate_ci95_low'], s['b_win_rate_ci95_high'])})"
        table.add("b_win_rate", rate, label=f"{b}'s win rate of decided (95% CI)", note="exact (Clopper-Pearson)")
        table.add("p_value", _p(s["p_value"]), label="sign test", note="exact, two-sided, ties left out")
        if not math.isnan(s["inconsistency_rate"]):
            table.add("inconsistency_rate", pct(s["inconsistency_rate"]), label="flipped with order")
        if s["errors"]:
            table.add("errors", s["errors"], "count", label="not judged", note="see judge_error in the frame")
        if "mean_difference" in s:
            low, high = s["mean_difference_ci95_low"], s["mean_difference_ci95_high"]
            diff = _signed(s["mean_difference"]) + ("" if math.isnan(low) else f" ({_signed(low)} to {_signed(high)})")
            table.add("mean_difference", diff, label=f"mean score {b} − {a} (95% CI)",
                      note=f"paired bootstrap over {s['score_pairs']} cases")
        return table

    def __repr__(self) -> str:
        return f"{self.sentence}\n\n{self.table()!r}"

    def _repr_html_(self) -> str:
        from ..render.theme import COLOURS

        text = html.escape(self.sentence)
        if text.startswith("Not settled"):
            text = f"<b style='color:{COLOURS['warn']}'>Not settled</b>{text[len('Not settled'):]}"
        criteria = (f"<div style='color:{COLOURS['muted']};font-size:0.9em'>criteria: "
                    f"{html.escape(_short(self.criteria))}</div>") if self.criteria else ""
        return (f"<div class='orqmagic-pairwise'><p style='margin:0.2em 0 0.5em;max-width:60em'>{text}</p>"
                f"{criteria}{self.table()._repr_html_()}</div>")


def _p(p: float) -> str:
    from .pairstats import p_text

    return p_text(p).removeprefix("p = ").replace("p ", "")


def _signed(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:+.2f}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = ["PairwiseSummary"]
