"""``orqmagic.judge``: score every row of a results frame with a metric, through a judge deployment.

The judge calls are an ordinary batch: one judge prompt per row, sent by
:func:`~orqmagic.evaluation.batch.invoke_many` (the same engine as any run), so
concurrency, progress, ``run=`` (resume after Ctrl-C, a restart or a kill: only
unjudged rows are sent), ``cache=`` and ``trials=`` behave exactly as they do
there. This module only builds the prompts before and reads the answers after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import JudgeAnswerError, ValidationError
from .metric import JUDGED_SOURCES, Metric, resolve, snake
from .prompts import columns_for, is_blank, score_prompt
from .verdicts import parse_score

if TYPE_CHECKING:
    import pandas as pd

#: The columns judge adds (helper code such as the review queue reads them by these names).
JUDGE_COLUMNS = ["score", "reason", "judge_trace_id", "judge_error"]


def as_frame(results: Any, *, what: str = "results") -> pd.DataFrame:
    """A non-empty DataFrame (a list of dicts is accepted too)."""
    import pandas as pd

    if isinstance(results, list) and all(isinstance(r, Mapping) for r in results):
        results = pd.DataFrame(results)
    if not isinstance(results, pd.DataFrame):
        raise ValidationError(f"{what} must be a DataFrame (from invoke_many, load_run, or your own), "
                              f"got {type(results).__name__}", field=what)
    if results.empty:
        raise ValidationError(f"{what} has no rows to judge", field=what)
    if not results.columns.is_unique:  # frame[name] would be a frame, not a column: which one is meant?
        twice = sorted({str(c) for c in results.columns[results.columns.duplicated()]})
        raise ValidationError(f"{what} has more than one column called {', '.join(map(repr, twice))}: "
                              "rename them; nothing was sent", field=what)
    return results


def judged_metric(metric: Any, *, galtea: Any = None) -> Metric:
    """The metric as a :class:`Metric` a judge can use, or one clear line saying why it cannot be."""
    resolved = resolve(metric, galtea=galtea)
    if resolved.source == "HUMAN_EVALUATION":
        raise ValidationError(f"metric {resolved.label!r} is HUMAN_EVALUATION: people score it, not a judge; "
                              f"use orqmagic.review(results, {resolved.name!r}), the review queue", field="metric")
    if not resolved.judge_prompt or (resolved.source is not None and resolved.source not in JUDGED_SOURCES):
        raise ValidationError(f"metric {resolved.label!r} ({resolved.source or 'no source'}) has no judge prompt: "
                              "score it in your own code and send the scores with orqmagic.send_scores", field="metric")
    unfilled = unknown_placeholders(resolved)
    if unfilled:
        shown = ", ".join(snake(p) for p in resolved.evaluation_params) or "none"
        raise ValidationError(f"metric {resolved.label!r}: its judge prompt refers to "
                              f"{', '.join('{{' + n + '}}' for n in unfilled)}, which is none of its evaluation params, "
                              f"so the judge would read the placeholder, not a value. The judge gets one section per "
                              f"evaluation param ({shown}): add the field to evaluation_params or take the placeholder "
                              "out of the prompt; nothing was sent", field="metric")
    return resolved


def unknown_placeholders(metric: Metric) -> list[str]:
    """The ``{{name}}`` placeholders of a judge prompt that name none of the metric's evaluation params.

    Nothing fills placeholders in a judge prompt (each param is a section of its own), so a placeholder
    for a param is harmless and one for anything else is a value the judge would never see.
    """
    from .templates import _PLACEHOLDER

    known = {spelling for p in metric.evaluation_params for spelling in (p, snake(p))}
    found = []
    for match in _PLACEHOLDER.finditer(metric.judge_prompt or ""):
        name = match.group(2)
        if not match.group(1) and all(part.isidentifier() for part in name.split(".")) and name not in known \
                and name not in found:
            found.append(name)
    return found


def judge_key(judge: str | None) -> str:
    """The judge deployment: the one named, or the sandbox's ``judge-bot`` when on the sandbox."""
    if judge is not None:
        if not isinstance(judge, str) or not judge.strip():
            raise ValidationError("judge must be a deployment key", field="judge")
        return judge.strip()
    from ..config import resolve as resolve_config

    if resolve_config("orq").sandbox:
        return "judge-bot"
    raise ValidationError("name the judge deployment: judge='KEY' (a deployment that answers judge prompts)",
                          field="judge")


def judge(
    results: Any,
    metric: Any,
    *,
    judge: str | None = None,
    run: str | None = None,
    concurrency: int = 8,
    cache: bool = False,
    trials: int = 1,
    send: bool = False,
    columns: Mapping[str, str] | None = None,
    progress: bool | None = None,
    retry_failed: bool = False,
    overwrite: bool = False,
    orq: Any = None,
    galtea: Any = None,
) -> pd.DataFrame:
    """Score every row of ``results`` with ``metric`` through judge deployment ``judge``; returns a scored copy.

    ``metric`` is an :class:`~orqmagic.Metric`, a Galtea definition (the dict
    ``create_metric`` returns) or a metric's name or id on Galtea. Its judge
    prompt gets one section per evaluation param, read from the row: ``input``
    from a column ``input``/``question``/``prompt``, ``actualOutput`` from
    ``actual_output`` or the answer column ``text``, ``expectedOutput`` from
    ``expected_output``/``expected``, ...; ``columns={"expectedOutput": "gold"}``
    names others. A param no column provides is refused before anything is sent.

    The copy gets ``score`` (the mean over ``trials`` judge calls), ``reason``,
    ``judge_trace_id`` and ``judge_error``: a row whose answer is missing, whose
    judge call failed, or whose judge answer states no score inside the metric's
    scale has a ``judge_error`` and no score (nothing is guessed). ``run="NAME"``
    records every judge call as it finishes, so calling again sends only the rows
    not yet judged. ``send=True`` sends each score as feedback for the judged
    answer's response id (the ``id`` column) through the outbox, once: see
    :func:`orqmagic.evaluation.judged_feedback.send_judged`.

    ``results``: the frame to score (from ``invoke_many``, ``load_run``, or your own).
    ``judge``: the judge deployment's key (default: ``judge-bot`` on the sandbox; required elsewhere).
    ``concurrency`` (default 8), ``progress``, ``cache`` (default False), ``trials`` (default 1),
    ``retry_failed`` and ``overwrite`` (with ``run``) work as in ``invoke_many``; ``orq`` is an
    ``AsyncOrqClient`` to use, ``galtea`` a ``GalteaClient`` for looking a metric up by name or id.
    """
    import pandas as pd

    from .batch import invoke_many

    frame = as_frame(results)
    resolved = judged_metric(metric, galtea=galtea)
    key = judge_key(judge)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValidationError("trials must be a whole number >= 1", field="trials")
    if send and "id" not in frame:
        raise ValidationError("send=True sends each score for the judged answer's response id, and the results "
                              "have no 'id' column; nothing was sent", field="send")
    mapping = columns_for(resolved.evaluation_params, frame.columns, columns, what=f"metric {resolved.name!r}")
    positions, prompts, skipped = plan_rows(frame, resolved, mapping)
    calls = None
    if prompts:
        calls = invoke_many(key, pd.DataFrame({"judge_prompt": prompts}), prompt="{{judge_prompt}}",
                            concurrency=concurrency, run=run, cache=cache, trials=trials, progress=progress,
                            retry_failed=retry_failed, overwrite=overwrite, orq=orq)
    scored = read_scores(calls, len(prompts), resolved.scale)
    rows: list[dict[str, Any]] = [dict(skipped.get(i) or {}) for i in range(len(frame))]
    for position, result in zip(positions, scored, strict=True):
        rows[position] = result
    out = frame.copy()
    for column in JUDGE_COLUMNS:  # text columns keep None for "none" (not NaN), as the review queue reads them
        out[column] = pd.Series([r.get(column) for r in rows], index=out.index, dtype=object)
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    if trials > 1:
        out["score_trials"] = [r.get("score_trials", []) for r in rows]
    out.attrs["judge"] = {
        "metric": resolved.name, "metric_id": resolved.id, "judge": key, "scale": resolved.scale, "run": run,
        "judged": int(out["score"].notna().sum()), "errors": int(out["judge_error"].notna().sum()),
        "interrupted": bool(calls is not None and calls.attrs.get("interrupted")), "trials": trials,
        "sent": 0 if calls is None else calls.attrs.get("sent", 0),
        "resumed": 0 if calls is None else calls.attrs.get("resumed", 0),
        "cached": 0 if calls is None else calls.attrs.get("cached", 0),
    }
    if send:
        from .judged_feedback import send_judged

        out.attrs["judge"]["feedback"] = send_judged(out, resolved, key)
    return out


def plan_rows(frame: pd.DataFrame, metric: Metric, mapping: Mapping[str, str]
              ) -> tuple[list[int], list[str], dict[int, dict[str, Any]]]:
    """Which rows get a judge prompt (positions, prompts), and why the others do not."""
    positions: list[int] = []
    prompts: list[str] = []
    skipped: dict[int, dict[str, Any]] = {}
    errors = frame["error"].tolist() if "error" in frame else [None] * len(frame)
    cells = {param: frame[column].tolist() for param, column in mapping.items()}
    for position in range(len(frame)):
        values = {param: cells[param][position] for param in metric.evaluation_params}
        blank = [param for param, value in values.items() if is_blank(value)]
        if blank:
            failed = errors[position]
            why = (f"no answer to judge (the call failed: {failed})" if not is_blank(failed)
                   else f"nothing to judge: {', '.join(f'{p} (column {mapping[p]!r})' for p in blank)} is empty")
            skipped[position] = {"judge_error": why}
            continue
        positions.append(position)
        prompts.append(score_prompt(metric, values))
    return positions, prompts, skipped


def read_scores(calls: pd.DataFrame | None, count: int, scale: tuple[float, float]) -> list[dict[str, Any]]:
    """Per judge prompt: the score (mean over trials that stated one), reason, trace id, or the error."""
    found: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    if calls is not None:
        cases = calls.get("case", calls.index)  # with trials, "case" is the prompt's row
        for position, text, error, trace in zip(cases, calls["text"], calls["error"], calls["trace_id"], strict=True):
            found[int(position)].append(one_score(text, error, trace, scale))
    out = []
    for trials in found:
        good = [t for t in trials if t.get("score") is not None]
        if not trials:
            out.append({"judge_error": "not judged: the run was interrupted before this row"})
        elif not good:
            out.append({"judge_error": trials[0]["judge_error"], "judge_trace_id": trials[0].get("judge_trace_id"),
                        "score_trials": []})
        else:
            scores = [t["score"] for t in good]
            out.append({"score": sum(scores) / len(scores), "reason": good[0]["reason"],
                        "judge_trace_id": good[0]["judge_trace_id"], "score_trials": scores})
    return out


def one_score(text: Any, error: Any, trace: Any, scale: tuple[float, float]) -> dict[str, Any]:
    trace = None if is_blank(trace) else trace
    if not is_blank(error):
        return {"judge_error": f"the judge call failed: {error}", "judge_trace_id": trace}
    try:
        score, reason = parse_score(text, scale)
    except JudgeAnswerError as exc:
        return {"judge_error": str(exc), "judge_trace_id": trace}
    return {"score": score, "reason": reason, "judge_trace_id": trace}


__all__ = ["JUDGE_COLUMNS", "as_frame", "judge", "judge_key", "judged_metric"]
