"""Deployments over a dataset, judged: what ``%%invoke A B --over DF --judge METRIC`` (or ``--pairwise``) runs.

Each deployment is one :func:`~.batch.invoke_many` run over the cases; then
either every answer is scored with a metric (:func:`~.judging.judge`) and two
deployments are compared case by case on those scores, or the two answers of each
case are judged against each other in both orders (:func:`~.pairwise.pairwise`).
Nothing here calls a deployment itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from .pair_summary import PairwiseSummary
from .pairstats import summarize_pairs

if TYPE_CHECKING:
    import pandas as pd


class ScoredComparison:
    """Deployments' judged runs over the same cases: a score table per deployment and, for two, the sentence."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], metric: str) -> None:
        self.frames, self.metric = dict(frames), metric
        self.summary: PairwiseSummary | None = None
        keys = list(self.frames)
        if len(keys) == 2:
            a, b = (self.frames[k]["score"].astype(float).to_numpy() for k in keys)
            winners = [None if math.isnan(x) or math.isnan(y) else "B" if y > x else "A" if x > y else "tie"
                       for x, y in zip(a, b, strict=True)]
            stats = summarize_pairs(winners, inconsistent=None, differences=(b - a).tolist())
            self.summary = PairwiseSummary(stats, keys[0], keys[1], criteria=f"higher {metric} score")

    @property
    def sentence(self) -> str:
        return self.summary.sentence if self.summary else ""

    def table(self) -> pd.DataFrame:
        """Per deployment (the index): ``judged``, ``judge_errors``, ``score_mean`` with ``score_mean_ci95_low`` /
        ``_high``, raw numbers (the HTML rounds them).

        The interval is a bootstrap one: it stays inside the scores seen, where a
        t interval of scores near the top of the scale would reach past it.
        """
        import pandas as pd

        from .pairstats import paired_bootstrap

        rows = {}
        for key, frame in self.frames.items():
            scores = frame["score"].dropna().tolist()
            mean, low, high = paired_bootstrap(scores) if scores else (math.nan,) * 3
            rows[key] = {"judged": len(scores), "judge_errors": int(frame["judge_error"].notna().sum()),
                         "score_mean": mean, "score_mean_ci95_low": low, "score_mean_ci95_high": high}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.attrs["title"] = f"{self.metric} per deployment"
        return table

    def cases(self) -> pd.DataFrame:
        """One row per case: its input columns and each deployment's score (``score_<deployment>``)."""
        first = next(iter(self.frames.values()))
        inputs = [c for c in first.columns if c not in _OUTPUT_COLUMNS]
        out = first[inputs].copy()
        for key, frame in self.frames.items():
            out["score_" + (re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_") or "deployment")] = \
                frame["score"].to_numpy()
        return out

    def _shown(self) -> pd.DataFrame:
        """The table as people read it: counts, and the mean with its interval in one cell."""
        from ..render.numbers import formatted

        table = self.table()
        shown = table[["judged", "judge_errors"]].astype(object)
        shown["score_mean"] = [formatted((m, lo, hi)) for m, lo, hi in
                               table[["score_mean", "score_mean_ci95_low", "score_mean_ci95_high"]].itertuples(
                                   index=False, name=None)]
        return shown

    def __repr__(self) -> str:
        head = f"{self.sentence}\n\n" if self.sentence else ""
        return f"{head}{self.metric} per deployment (score_mean: mean, 95% CI by bootstrap)\n{self._shown().to_string()}"

    def _repr_html_(self) -> str:
        import html

        scores = (f"<div class='orqmagic-summary'><div>{html.escape(self.metric)} per deployment "
                  f"(score_mean: mean, 95% CI by bootstrap)</div>{self._shown().to_html(border=0, escape=True)}</div>")
        cases = self.cases()
        rows = cases.astype(object).where(cases.notna(), "—").to_html(border=0, escape=True, max_rows=40)
        head = self.summary._repr_html_() if self.summary else ""
        return (f"<div class='orqmagic-judged'>{scores}{head}"
                f"<details><summary>{len(cases)} cases, one row each</summary>{rows}</details></div>")


_OUTPUT_COLUMNS = {"text", "id", "model", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens",
                   "finish_reason", "error", "trace_id", "cached", "score", "reason", "judge_trace_id",
                   "judge_error", "score_trials"}


def judge_over(keys: Sequence[str], cases: Any, *, prompt: str | None, metric: Any = None, criteria: Any = None,
               judge: str | None = None, run: str | None = None, concurrency: int = 8, cache: bool = False,
               progress: bool | None = None, **fields: Any) -> Any:
    """Run every deployment over ``cases``, then judge: a :class:`ScoredComparison` or a pairwise result."""
    from .batch import invoke_many
    from .judging import as_frame, judge_key, judged_metric
    from .judging import judge as judge_rows
    from .pairwise import pairwise
    from .prompts import columns_for

    if (metric is None) == (criteria is None):
        raise ValidationError("judge with a metric or with pairwise criteria, not both", field="metric")
    if criteria is not None and len(keys) != 2:
        raise ValidationError(f"pairwise judging compares two deployments, got {len(keys)}", field="keys")
    if len(set(keys)) != len(keys):
        raise ValidationError("name each deployment once", field="keys")
    resolved = judged_metric(metric) if metric is not None else None  # refused before any call
    judge = judge_key(judge)
    if resolved is not None:  # the cases must hold every param but the answers the runs will add
        columns_for([p for p in resolved.evaluation_params if p != "actualOutput"], as_frame(cases, what="cases").columns,
                    None, what=f"metric {resolved.name!r}")
    else:  # pairwise criteria too: blank text, a metric no judge can use, a column it needs, before any call
        from .pairwise import _criterion

        _, params = _criterion(criteria, None)
        if params:
            columns_for(params, as_frame(cases, what="cases").columns, None, what="the metric")
    options = {"concurrency": concurrency, "cache": cache, "progress": progress}
    answers = {key: invoke_many(key, cases, prompt=prompt, run=None if run is None else f"{run}/{key}",
                                **options, **fields) for key in keys}
    if resolved is not None:
        frames = {key: judge_rows(frame, resolved, judge=judge, **options,
                                  run=None if run is None else f"{run}/{key}/judge")
                  for key, frame in answers.items()}
        return ScoredComparison(frames, resolved.name)
    first, second = answers.values()
    return pairwise(first, second, judge=judge, criteria=criteria, labels=list(keys), **options,
                    run=None if run is None else f"{run}/pairwise")


__all__ = ["ScoredComparison", "judge_over"]
