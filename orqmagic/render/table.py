"""``Summary``: a small table of named statistics with units, rounded for people, in HTML and text.

It is what :func:`orqmagic.summarize` returns. Statistics are added by name
(``summary.add("latency_p50_ms", 7403.1, "ms", label="latency p50")``); a value
may be a number, a ``(estimate, low, high)`` interval or a ready string, and
further columns (per deployment, per trial) are added the same way with
``column=``. Anything added renders: no presentation code changes per statistic.
Indexing by name gives the raw number (``summary["rows"]``), like a Series.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .numbers import formatted


@dataclass
class _Row:
    label: str
    unit: str | None
    values: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    shown: bool = True


# How the statistics of :func:`orqmagic.evaluation.stats.evaluation` read: per-metric means with their interval, and the rest.
_METRIC_NAMES = {"latency_ms": ("latency", "ms"), "ttft_ms": ("time to first token", "ms"),
                 "completion_tokens": ("completion tokens", "tokens"), "score": ("score", None)}
_NAMED = {"trials": ("trials", "count"), "agreement": ("agreement between trials", "%"),
          "estimated_cost": ("estimated cost", "$"), "estimated_cost_rows_unpriced": ("rows without a price", "count")}


class Summary:
    """Named statistics in rows, one column per group (``value`` by default)."""

    def __init__(self, title: str = "", *, column: str = "value") -> None:
        self.title = title
        self.default_column = column
        self.columns: list[str] = [column]
        self._rows: dict[str, _Row] = {}

    def add(self, name: str, value: Any, unit: str | None = None, *, label: str | None = None,
            column: str | None = None, note: str = "", shown: bool = True) -> Summary:
        """Set statistic ``name`` (in ``column``); ``unit``: ``ms``, ``%`` (ratio), ``$``, ``tokens``, ``count``, ..."""
        column = column or self.default_column
        if column not in self.columns:
            self.columns.append(column)
        row = self._rows.get(name)
        if row is None:
            row = self._rows[name] = _Row(label or name.replace("_", " "), unit, note=note, shown=shown)
        else:
            row.unit = unit if unit is not None else row.unit
            row.label, row.note = label or row.label, note or row.note
        row.values[column] = value
        return self

    def add_statistics(self, statistics: dict[str, Any], *, column: str | None = None) -> Summary:
        """Add a flat dict of statistics: ``<metric>_mean`` with ``_ci95_low``/``_ci95_high`` become one row
        ``mean (95% CI)``; known names get labels and units; anything else is shown under its own name."""
        for name, value in statistics.items():
            if name.endswith(("_ci95_low", "_ci95_high")):
                self.add(name, value, column=column, shown=False)  # by name, and inside its mean's row
                continue
            if name.endswith("_mean") and f"{name[:-5]}_ci95_low" in statistics:
                metric = name[:-5]
                label, unit = _METRIC_NAMES.get(metric, (metric.replace("_", " "), None))
                interval = (value, statistics[f"{metric}_ci95_low"], statistics[f"{metric}_ci95_high"])
                self.add(name, value, unit, label=f"{label} mean (95% CI)", column=column)
                self._rows[name].values[f"{column or self.default_column}\0interval"] = interval
                continue
            label, unit = _NAMED.get(name, (name.replace("_", " "), None))
            self.add(name, value, unit, label=label, column=column)
        return self

    def __getitem__(self, name: str | list[str]) -> Any:
        if isinstance(name, list):  # like a Series: several statistics at once
            import pandas as pd

            return pd.Series({n: self[n] for n in name})
        return self._rows[name].values.get(self.default_column)

    def __setitem__(self, name: str, value: Any) -> None:
        self.add(name, value)

    def __contains__(self, name: object) -> bool:
        return name in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def keys(self) -> list[str]:
        return list(self._rows)

    def to_dict(self, column: str | None = None) -> dict[str, Any]:
        """Raw values of one column, by statistic name."""
        return {name: row.values.get(column or self.default_column) for name, row in self._rows.items()}

    def to_frame(self) -> Any:
        """Raw values as a DataFrame: statistics as rows, groups as columns."""
        import pandas as pd

        return pd.DataFrame({c: [r.values.get(c) for r in self._rows.values()] for c in self.columns},
                            index=list(self._rows))

    def cells(self) -> list[list[str]]:
        """The formatted table: label, one cell per column, note (rows kept only for lookup are left out)."""
        return [[row.label, *(formatted(row.values.get(f"{c}\0interval", row.values.get(c)), row.unit)
                              for c in self.columns), row.note]
                for row in self._rows.values() if row.shown]

    def __repr__(self) -> str:
        cells = self.cells()
        header = ["", *([] if self.columns == ["value"] else self.columns)]
        widths = [max([len(r[i]) for r in cells] + [len(header[i]) if i < len(header) else 0])
                  for i in range(len(self.columns) + 1)]
        lines = [self.title] if self.title else []
        if len(header) > 1:
            lines.append("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths, strict=False))))
        for row in cells:
            text = "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False)))
            lines.append((text + ("  " + row[-1] if row[-1] else "")).rstrip())
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:right'>{html.escape(c)}</th>" for c in self.columns)
        show_head = self.columns != ["value"]
        notes = any(row[-1] for row in self.cells())
        body = []
        for row in self.cells():
            values = "".join(f"<td style='text-align:right'>{html.escape(v)}</td>" for v in row[1:-1])
            note = f"<td style='text-align:left'><small>{html.escape(row[-1])}</small></td>" if notes else ""
            body.append(f"<tr><th style='text-align:left'>{html.escape(row[0])}</th>{values}{note}</tr>")
        caption = f"<caption style='text-align:left'>{html.escape(self.title)}</caption>" if self.title else ""
        thead = f"<thead><tr><th></th>{head}{'<th></th>' if notes else ''}</tr></thead>" if show_head else ""
        return f"<table class='orqmagic-summary'>{caption}{thead}<tbody>{''.join(body)}</tbody></table>"
