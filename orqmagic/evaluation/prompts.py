"""Judge prompts: a metric's judge prompt filled from a row, and the pairwise prompt for two answers.

Each evaluation param becomes a section: a line ``<name>`` (snake_case), the
value, a line ``</name>``. Sections keep the answer apart from the instructions
(a judge reads "the answer" as data, not as more instructions), and they are
what the sandbox's judge-bot reads (:mod:`orqmagic.sandbox.judge`). A value that
itself contains a section tag has it written as ``&lt;name>``, so an answer
cannot close its own section and pose as the expected output.

Which frame column feeds which param is decided once, before anything is sent
(:func:`columns_for`), so a missing column is one clear error, not a failed row each.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from .metric import Metric, camel, snake

#: The frame columns each evaluation param is read from, first present wins (``columns=`` overrides).
#: ``text`` is the answer column of ``invoke_many`` and ``load_run`` frames.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "input": ("input", "question", "prompt"),
    "actualOutput": ("actual_output", "actualOutput", "text"),
    "expectedOutput": ("expected_output", "expectedOutput", "expected"),
    "retrievalContext": ("retrieval_context", "retrievalContext"),
    "context": ("context",),
    "toolsUsed": ("tools_used", "toolsUsed"),
    "expectedTools": ("expected_tools", "expectedTools"),
}
SECTIONS = ("answer_1", "answer_2", *(snake(p) for p in DEFAULT_COLUMNS))
_TAG = re.compile(r"<(/?)(" + "|".join(SECTIONS) + r")>")

SCORE_FORMAT = ('Answer with one JSON object and nothing else: {{"score": <a number from {low:.15g} to {high:.15g}>, '
                '"reason": "<one sentence>"}}.')
PAIR_FORMAT = ('Answer with one JSON object and nothing else: {"winner": "1", "2" or "tie", '
               '"reason": "<one sentence>"}.')


def columns_for(params: Sequence[str], frame_columns: Sequence[Any], columns: Mapping[str, str] | None,
                *, what: str) -> dict[str, str]:
    """Param -> column for every param; raises naming the first one no column provides."""
    present = [str(c) for c in frame_columns]
    chosen: dict[str, str] = {}
    if columns is not None and not isinstance(columns, Mapping):
        raise ValidationError(f"columns must be a dict of evaluation param -> column name, e.g. "
                              f"{{'expectedOutput': 'gold'}}, got {type(columns).__name__}", field="columns")
    overrides = {camel(str(k)): v for k, v in (columns or {}).items()}
    for key in overrides:
        if key not in DEFAULT_COLUMNS:
            raise ValidationError(f"columns: {key!r} is not an evaluation param; known: {', '.join(DEFAULT_COLUMNS)}",
                                  field="columns")
    for param in params:
        if param in overrides:
            if overrides[param] not in present and overrides[param] not in list(frame_columns):
                raise ValidationError(f"columns: {param} -> {overrides[param]!r}, but there is no column "
                                      f"{overrides[param]!r} (columns: {', '.join(present)})", field="columns")
            chosen[param] = overrides[param]
            continue
        candidates = DEFAULT_COLUMNS.get(param, (snake(param), param))
        found = next((c for c in candidates if c in present), None)
        if found is None:
            raise ValidationError(
                f"{what} needs {param}, and the results have no column {' or '.join(repr(c) for c in candidates)}: "
                f"pass columns={{{param!r}: 'YOUR_COLUMN'}} (columns: {', '.join(present)}); nothing was sent",
                field="columns")
        chosen[param] = found
    return chosen


def is_blank(value: Any) -> bool:
    """None, NaN or empty text: a cell with nothing to judge."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict)) else False
    except (TypeError, ValueError):
        return False


def as_text(value: Any) -> str:
    """A cell as prompt text: strings as they are, a list one item per line, anything else as JSON."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple)):
        text = "\n".join(v if isinstance(v, str) else json.dumps(v, default=str) for v in value)
    else:
        text = json.dumps(value, default=str) if isinstance(value, (dict, bool)) else str(value)
    return _TAG.sub(lambda m: f"&lt;{m.group(1)}{m.group(2)}>", text)


def section(param: str, value: Any) -> str:
    name = snake(param)
    return f"<{name}>\n{as_text(value)}\n</{name}>"


def score_prompt(metric: Metric, values: Mapping[str, Any]) -> str:
    """The metric's judge prompt with one section per evaluation param (before it if ``eval_params_top``)."""
    sections = "\n\n".join(section(p, values[p]) for p in metric.evaluation_params)
    low, high = metric.scale
    parts = [sections, metric.judge_prompt or ""] if metric.eval_params_top else [metric.judge_prompt or "", sections]
    return "\n\n".join([*parts, SCORE_FORMAT.format(low=low, high=high)])


def pair_prompt(criteria: str, values: Mapping[str, Any], first: Any, second: Any) -> str:
    """Two answers to one case, in the order given, with the case's other params (input, expected output, ...)."""
    shared = [section(p, v) for p, v in values.items()]
    return "\n\n".join([
        f"Two answers to the same case follow. Judge which is better by this criterion: {criteria.strip()}",
        *shared, section("answer_1", first), section("answer_2", second),
        "Do not prefer an answer for its position or its length alone.", PAIR_FORMAT,
    ])


__all__ = ["DEFAULT_COLUMNS", "as_text", "columns_for", "is_blank", "pair_prompt", "score_prompt", "section"]
