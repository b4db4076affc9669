"""``Summary``: named statistics as a pandas Series that renders as a small table, rounded for people.

It is what :func:`orqmagic.summarize` returns. A Series, so everything pandas does works on it:
``s["latency_p50_ms"]`` is the raw number, ``s.index`` the names, ``s[["rows", "errors"]]`` several,
``s.to_dict()``, ``pd.concat([a, b], axis=1)`` two runs side by side. Each row is shown under its
own key (what you see is what you index), with its unit applied once: ``attrs["units"]`` maps a
name to ``ms``, ``%`` (a ratio), ``$``, ``tokens``, ``count`` or free text. A mean with
``<metric>_ci95_low``/``_ci95_high`` beside it is shown with its interval in one row
(``95.2 tokens (95.0–95.4)``); the bounds stay indexable but get no row of their own.

Statistics are added by name (``summary = summary.add("latency_p50_ms", 7403.1, "ms")``; like pandas,
a new object is returned), or in bulk from a flat dict (:meth:`Summary.add_statistics`). Anything
added renders: no presentation code per statistic.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from .numbers import formatted

# Units of the statistics :func:`orqmagic.evaluation.stats.evaluation` adds; anything else is unitless.
_METRIC_UNITS = {"latency_ms": "ms", "ttft_ms": "ms", "completion_tokens": "tokens"}
_NAMED_UNITS = {"trials": "count", "agreement": "%", "estimated_cost": "$", "estimated_cost_rows_unpriced": "count"}
_NOTES = {"agreement": "trials of a case that gave the same answer", "estimated_cost": "from your price table"}


class Summary(pd.Series):
    """Named statistics (the index) and their raw values; ``attrs`` keep ``title``, ``units``, ``notes``."""

    def __init__(self, data: Any = None, *args: Any, title: str | None = None, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        if self.name is None:
            self.name = "value"
        self.attrs.setdefault("units", {})
        self.attrs.setdefault("notes", {})
        if title is not None:
            self.attrs["title"] = title

    @property
    def _constructor(self) -> type[Summary]:
        return Summary

    @property
    def _constructor_expanddim(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    @property
    def title(self) -> str:
        return str(self.attrs.get("title") or "")

    @property
    def units(self) -> dict[str, str | None]:
        """Unit per statistic name (``ms``, ``%``, ``$``, ``tokens``, ``count``, ...)."""
        return self.attrs.setdefault("units", {})

    def add(self, name: str, value: Any, unit: str | None = None, *, note: str = "") -> Summary:
        """A new Summary with statistic ``name`` set to ``value`` (a number, an ``(estimate, low, high)``
        interval or ready text), its ``unit`` and an optional note. Like pandas methods it returns a
        new object: ``summary = summary.add("cost", 0.012, "$")``."""
        return self.add_statistics({name: value}, units={name: unit}, notes={name: note} if note else None)

    def add_statistics(self, statistics: dict[str, Any], *, units: dict[str, str | None] | None = None,
                       notes: dict[str, str] | None = None) -> Summary:
        """A new Summary with a flat dict of statistics added (or replaced). Units and notes default to those
        of :func:`orqmagic.evaluation.stats.evaluation`'s names; ``<metric>_mean`` with ``_ci95_low`` /
        ``_ci95_high`` shows as one row."""
        values = {**dict(self.items()), **statistics}
        out = Summary(list(values.values()), index=list(values), name=self.name, title=self.title or None)
        out.attrs["units"], out.attrs["notes"] = dict(self.units), dict(self.attrs.get("notes", {}))
        for name in statistics:
            metric = name.removesuffix("_mean").removesuffix("_ci95_low").removesuffix("_ci95_high")
            unit = (units or {}).get(name, _METRIC_UNITS.get(metric) if metric != name else _NAMED_UNITS.get(name))
            if unit is not None or name not in out.units:
                out.units[name] = unit
            ci = name.endswith("_mean") and f"{metric}_ci95_low" in values
            note = (notes or {}).get(name) or ("mean, 95% CI" if ci else _NOTES.get(name, ""))
            if note:
                out.attrs["notes"][name] = note
        return out

    # -- rendering ------------------------------------------------------------------

    def _interval(self, name: str) -> tuple[Any, Any] | None:
        if not name.endswith("_mean"):
            return None
        low, high = f"{name[:-5]}_ci95_low", f"{name[:-5]}_ci95_high"
        return (self[low], self[high]) if low in self.index and high in self.index else None

    def _bounds(self) -> set[str]:
        return {f"{name[:-5]}_ci95_{end}" for name in self.index if isinstance(name, str) and self._interval(name)
                for end in ("low", "high")}

    def cells(self) -> list[list[str]]:
        """The formatted table: name, value, note (interval bounds are shown in their mean's row)."""
        bounds, notes = self._bounds(), self.attrs.get("notes", {})
        rows = []
        for name, value in self.items():
            if name in bounds:
                continue
            interval = self._interval(str(name))
            shown = (value, *interval) if interval else value
            rows.append([str(name), formatted(shown, self.units.get(name)), str(notes.get(name, ""))])
        return rows

    def __repr__(self) -> str:
        cells = self.cells()
        lines = [self.title] if self.title else []
        if cells:
            widths = [max(len(row[i]) for row in cells) for i in (0, 1)]
            lines += [(f"{name.ljust(widths[0])}  {value.rjust(widths[1])}" + (f"  {note}" if note else "")).rstrip()
                      for name, value, note in cells]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        cells = self.cells()
        notes = any(row[2] for row in cells)
        body = []
        for name, value, note in cells:
            extra = f"<td style='text-align:left'><small>{html.escape(note)}</small></td>" if notes else ""
            body.append(f"<tr><th style='text-align:left'><code>{html.escape(name)}</code></th>"
                        f"<td style='text-align:right'>{html.escape(value)}</td>{extra}</tr>")
        caption = f"<caption style='text-align:left'>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table class='orqmagic-summary'>{caption}<tbody>{''.join(body)}</tbody></table>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))
