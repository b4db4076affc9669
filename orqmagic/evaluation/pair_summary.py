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
        """The numbers as a :class:`~orqmagic.render.table.Summary`: each row under its key in ``stats``, rounded
        for people, what it means in the note."""
        from ..render.table import Summary

        s, a, b = self.stats, self.a, self.b
        two_orders = not math.isnan(s["inconsistency_rate"])
        rows: dict[str, Any] = {"cases": s["cases"], "judged": s["judged"], "a_wins": s["a_wins"], "b_wins": s["b_wins"],
                                "ties": s["ties"]}
        notes = {"judged": "judged in both orders" if two_orders else "both have a score", "a_wins": f"{a} (A)",
                 "b_wins": f"{b} (B)"}
        if two_orders and s["ties"]:
            notes["ties"] = f"{s['inconsistent']} of them because the orders disagreed"
        rows["b_win_rate"] = "—" if not s["decided"] else \
            f"{pct(s['b_win_rate'])} ({pct_range(s['b_win_rate_ci95_low'], s['b_win_rate_ci95_high'])})"
        notes["b_win_rate"] = f"{b}'s share of decided cases, exact 95% CI (Clopper-Pearson)"
        rows["p_value"] = _p(s["p_value"])
        notes["p_value"] = "exact sign test, two-sided, ties left out"
        if two_orders:
            rows["inconsistency_rate"] = pct(s["inconsistency_rate"])
            notes["inconsistency_rate"] = "cases whose verdict flipped with the order"
        if s["errors"]:
            rows["errors"] = s["errors"]
            notes["errors"] = "not judged: see judge_error in the frame"
        if "mean_difference" in s:
            low, high = s["mean_difference_ci95_low"], s["mean_difference_ci95_high"]
            rows["mean_difference"] = _signed(s["mean_difference"]) + (
                "" if math.isnan(low) else f" ({_signed(low)} to {_signed(high)})")
            notes["mean_difference"] = f"mean score {b} − {a}, 95% CI by paired bootstrap over {s['score_pairs']} cases"
        title = f"{a} (A) vs {b} (B)" + (f" · judge {self.judge}" if self.judge else "")
        counts = {name: "count" for name in ("cases", "judged", "a_wins", "b_wins", "ties", "errors")}
        return Summary(title=title).add_statistics(rows, units=counts, notes=notes)

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
