"""``orqmagic.pairwise``: A against B on the same cases, every pair judged in both orders.

A judge model often prefers the answer it reads first. So each case is judged
twice, A first and B first, and a verdict counts only when both orders agree;
otherwise the case is a tie and is counted as position-inconsistent (the rate
is reported: a judge that flips often is telling you it cannot see a difference).
The judge calls are one ordinary batch through
:func:`~orqmagic.evaluation.batch.invoke_many` (concurrency, progress,
``run=`` to resume, ``cache=``), two prompts per case.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import JudgeAnswerError, ValidationError
from ..store.runs import RESULT_COLUMNS
from .judging import as_frame, judge_key, judged_metric
from .metric import Metric, camel
from .pair_summary import PairwiseSummary
from .pairstats import summarize_pairs
from .prompts import DEFAULT_COLUMNS, columns_for, is_blank, pair_prompt
from .verdicts import parse_winner

if TYPE_CHECKING:
    import pandas as pd

PAIR_COLUMNS = ["verdict_ab", "verdict_ba", "winner", "position_inconsistent", "reasons", "judge_error"]
_OPTIONAL = ("input", "expectedOutput")  # shown to the judge with plain-text criteria when a column has them


class PairwiseResult:
    """What :func:`pairwise` returns: ``frame`` (one row per case) and ``summary`` (the statistics and sentence)."""

    def __init__(self, frame: pd.DataFrame, summary: PairwiseSummary) -> None:
        self.frame, self.summary = frame, summary

    @property
    def sentence(self) -> str:
        return self.summary.sentence

    def __iter__(self) -> Any:
        """``frame, summary = orqmagic.pairwise(...)``."""
        return iter((self.frame, self.summary))

    def _repr_html_(self) -> str:
        shown = self.frame.drop(columns=["answer_a", "answer_b"])
        table = shown.astype(object).where(shown.notna(), "—").to_html(border=0, escape=True, max_rows=40)
        return (f"{self.summary._repr_html_()}<details><summary>{len(self.frame)} cases, one row each</summary>"
                f"{table}</details>")

    def __repr__(self) -> str:
        return repr(self.summary)


def pairwise(
    a: Any,
    b: Any,
    *,
    judge: str | None = None,
    criteria: str | Metric | Mapping[str, Any] | None = None,
    run: str | None = None,
    concurrency: int = 8,
    cache: bool = False,
    columns: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
    progress: bool | None = None,
    retry_failed: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    orq: Any = None,
    galtea: Any = None,
) -> PairwiseResult:
    """Judge A's and B's answers to the same cases against each other, in both orders.

    ``a`` and ``b`` are result frames of the same cases in the same order (two
    runs, or the two deployments of a comparison over a dataset). ``criteria``
    is plain text ("Which answer is more correct and complete?") or a metric (a
    :class:`~orqmagic.Metric` or a Galtea definition dict: its judge prompt is the
    criterion, its evaluation params other than ``actualOutput`` are shown too). With plain text, the case's ``input`` and
    ``expectedOutput`` are shown when a column has them.

    Returns a :class:`PairwiseResult`: ``.frame`` with ``verdict_ab`` (A shown
    first), ``verdict_ba`` (B first), ``winner`` (``A``, ``B``, ``tie``; None if
    a judge answer could not be read), ``position_inconsistent``, ``reasons``
    and ``judge_error``; ``.summary`` with wins, B's win rate and its exact 95%
    interval, the sign test, the inconsistency rate, and, when both frames have a
    judge ``score`` column, a paired bootstrap interval of the mean difference.

    ``judge``: the judge deployment's key (default: ``judge-bot`` on the sandbox).
    ``columns`` maps evaluation params to other column names (``{"expectedOutput": "gold"}``).
    ``labels``: names for A and B (default: the runs' deployments, else ``A`` and ``B``).
    ``run`` (resumable), ``concurrency`` (default 8), ``cache``, ``progress``, ``retry_failed`` and
    ``overwrite`` work as in ``invoke_many``; ``seed`` seeds the bootstrap (default 0); ``orq`` is an
    ``AsyncOrqClient`` to use, ``galtea`` a ``GalteaClient``.
    """
    import pandas as pd

    from .batch import invoke_many

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValidationError(f"seed must be a whole number >= 0 (it seeds the bootstrap), got {seed!r}", field="seed")
    first, second = as_frame(a, what="a"), as_frame(b, what="b")
    same_cases(first, second)
    name_a, name_b = _labels(first, second, labels)
    criterion, params = _criterion(criteria, galtea)
    key = judge_key(judge)
    if params is None:
        present = [p for p in _OPTIONAL if any(c in first.columns for c in DEFAULT_COLUMNS[p])]
        mapping = columns_for(present, first.columns, None, what="pairwise")
        named = [camel(str(k)) for k in columns or {} if camel(str(k)) != "actualOutput"]
        mapping.update(columns_for(named, first.columns, columns, what="pairwise"))
    else:
        mapping = columns_for(params, first.columns, columns, what="the metric")
    answers = columns_for(["actualOutput"], first.columns, columns, what="pairwise")["actualOutput"]
    if answers not in second:
        raise ValidationError(f"b has no answer column {answers!r}; nothing was sent", field="b")
    cells = {p: first[c].tolist() for p, c in mapping.items() if p != "actualOutput"}
    texts_a, texts_b = first[answers].tolist(), second[answers].tolist()
    prompts: list[str] = []
    judged: list[int] = []
    for position in range(len(first)):
        values = {p: cells[p][position] for p in cells}
        if is_blank(texts_a[position]) or is_blank(texts_b[position]) or any(is_blank(v) for v in values.values()):
            continue
        judged.append(position)
        prompts.append(pair_prompt(criterion, values, texts_a[position], texts_b[position]))
        prompts.append(pair_prompt(criterion, values, texts_b[position], texts_a[position]))
    calls = None
    if prompts:
        calls = invoke_many(key, pd.DataFrame({"judge_prompt": prompts}), prompt="{{judge_prompt}}",
                            concurrency=concurrency, run=run, cache=cache, progress=progress,
                            retry_failed=retry_failed, overwrite=overwrite, orq=orq)
    rows = [_skipped(texts_a[p], texts_b[p]) for p in range(len(first))]
    answered = {} if calls is None else dict(zip(calls.index, zip(calls["text"], calls["error"], strict=True),
                                                 strict=True))  # one trial: the index is the prompt's row
    for n, position in enumerate(judged):
        rows[position] = _case(answered.get(2 * n), answered.get(2 * n + 1))
    frame = _frame(first, second, rows, answers)
    differences = None
    if "score" in first and "score" in second:
        differences = (pd.to_numeric(second["score"], errors="coerce").to_numpy()
                       - pd.to_numeric(first["score"], errors="coerce").to_numpy()).tolist()
    both = int(frame["winner"].notna().sum())
    stats = summarize_pairs(frame["winner"].tolist(), inconsistent=int(frame["position_inconsistent"].sum()),
                            judged=both, differences=differences, seed=seed)
    summary = PairwiseSummary(stats, name_a, name_b, judge=key, criteria=criterion)
    frame.attrs.update({"pairwise": stats, "judge": key, "a": name_a, "b": name_b,
                        "interrupted": bool(calls is not None and calls.attrs.get("interrupted"))})
    return PairwiseResult(frame, summary)


def same_cases(first: pd.DataFrame, second: pd.DataFrame) -> None:
    """The two frames hold the same cases in the same order, or one line says where they part."""
    for name, frame in (("a", first), ("b", second)):
        if "trial" in frame and frame["trial"].nunique() > 1:
            raise ValidationError(f"{name} holds several trials of each case, which are not independent cases: "
                                  f"pass one answer per case (e.g. {name}[{name}['trial'] == 1]); nothing was sent",
                                  field=name)
    if len(first) != len(second):
        raise ValidationError(f"a has {len(first)} rows and b {len(second)}: pairwise needs the same cases in the "
                              "same order; nothing was sent", field="b")
    shared = [c for c in first.columns if c in second.columns and c not in RESULT_COLUMNS
              and c not in PAIR_COLUMNS and c not in ("score", "reason", "judge_trace_id", "cached", "trial",
                                                      "case", "score_trials")]
    for column in shared:
        left, right = first[column].tolist(), second[column].tolist()
        for position, (x, y) in enumerate(zip(left, right, strict=True)):
            if not (_same(x, y) or (is_blank(x) and is_blank(y))):
                raise ValidationError(f"a and b differ in column {column!r} at row {position} ({x!r} vs {y!r}): "
                                      "pairwise needs the same cases in the same order; nothing was sent", field="b")


def _same(x: Any, y: Any) -> bool:
    """One cell of a case equals the other's (arrays and lists cell by cell, not as an ambiguous truth value)."""
    try:
        return bool(x == y)
    except (ValueError, TypeError):  # numpy arrays: == is elementwise
        import numpy as np

        try:
            return bool(np.array_equal(np.asarray(x, dtype=object), np.asarray(y, dtype=object)))
        except (ValueError, TypeError):
            return False


def _labels(first: pd.DataFrame, second: pd.DataFrame, labels: Sequence[str] | None) -> tuple[str, str]:
    if labels is not None:
        if isinstance(labels, str) or len(labels) != 2 or not all(isinstance(x, str) and x for x in labels) \
                or labels[0] == labels[1]:
            raise ValidationError("labels must be two different names, e.g. ('terse', 'thorough')", field="labels")
        return labels[0], labels[1]
    names = first.attrs.get("label") or first.attrs.get("deployment"), \
        second.attrs.get("label") or second.attrs.get("deployment")
    return (names[0], names[1]) if all(names) and names[0] != names[1] else ("A", "B")


def _criterion(criteria: Any, galtea: Any) -> tuple[str, list[str] | None]:
    """The criterion text and the params to show (None: the optional input / expected output)."""
    if criteria is None:
        raise ValidationError("pairwise needs criteria: a sentence (what makes an answer better) or a metric",
                              field="criteria")
    if isinstance(criteria, str):
        if not criteria.strip():
            raise ValidationError("criteria is empty: say what makes an answer better", field="criteria")
        return criteria, None
    metric = judged_metric(criteria, galtea=galtea)
    return metric.judge_prompt or "", [p for p in metric.evaluation_params if p != "actualOutput"]


def _skipped(text_a: Any, text_b: Any) -> dict[str, Any]:
    missing = [n for n, t in (("A", text_a), ("B", text_b)) if is_blank(t)]
    why = f"no answer from {' and '.join(missing)}" if missing else "a field the judge needs is empty"
    return {"judge_error": f"not judged: {why}"}


def _order(answer: tuple[Any, Any] | None, first: str, second: str) -> tuple[str | None, str, str | None]:
    """One order's verdict as A / B / tie (``first`` is the label shown as answer 1), reason, error."""
    if answer is None:
        return None, "", "not judged: the run was interrupted"
    text, error = answer
    if not is_blank(error):
        return None, "", f"the judge call failed: {error}"
    try:
        winner, reason = parse_winner(text)
    except JudgeAnswerError as exc:
        return None, "", str(exc)
    return {"1": first, "2": second, "tie": "tie"}[winner], reason, None


def _case(ab: tuple[Any, Any] | None, ba: tuple[Any, Any] | None) -> dict[str, Any]:
    verdict_ab, reason_ab, error_ab = _order(ab, "A", "B")
    verdict_ba, reason_ba, error_ba = _order(ba, "B", "A")
    errors = [f"{order}: {e}" for order, e in (("A first", error_ab), ("B first", error_ba)) if e]
    if errors:
        winner, inconsistent = None, False
    elif verdict_ab == verdict_ba:
        winner, inconsistent = verdict_ab, False
    else:
        winner, inconsistent = "tie", True
    return {"verdict_ab": verdict_ab, "verdict_ba": verdict_ba, "winner": winner,
            "position_inconsistent": inconsistent,
            "reasons": f"A first: {reason_ab or '—'} · B first: {reason_ba or '—'}",
            "judge_error": "; ".join(errors) or None}


def _frame(first: pd.DataFrame, second: pd.DataFrame, rows: list[dict[str, Any]], answers: str) -> pd.DataFrame:
    import pandas as pd

    case_columns = [c for c in first.columns if c not in RESULT_COLUMNS and c not in ("cached", "score", "reason",
                                                                                     "judge_trace_id", "judge_error",
                                                                                     "score_trials")]
    frame = first[case_columns].copy()
    frame["answer_a"], frame["answer_b"] = first[answers].tolist(), second[answers].tolist()
    if "score" in first and "score" in second:
        frame["score_a"] = pd.to_numeric(first["score"], errors="coerce").tolist()
        frame["score_b"] = pd.to_numeric(second["score"], errors="coerce").tolist()
    for column in PAIR_COLUMNS:
        frame[column] = [r.get(column) for r in rows]
    frame["position_inconsistent"] = frame["position_inconsistent"].fillna(False).astype(bool)
    return frame


__all__ = ["PAIR_COLUMNS", "PairwiseResult", "pairwise", "same_cases"]
