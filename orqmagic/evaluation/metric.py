"""A metric definition a judge can use: a local :class:`Metric`, or one from Galtea turned into one.

``orqmagic.judge`` (and the review queue) take a metric as a Galtea definition
(the dict ``create_metric`` returns), its name or id, or a local ``Metric``.
Everything becomes a ``Metric`` first, so the code that fills prompts and reads
scores sees one shape. A local metric follows the same creation rules as
``create_metric`` (the same checks run), so a metric tried locally can be created
on Galtea unchanged with :meth:`Metric.create`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..clients.galtea import EVALUATION_PARAMS, EVALUATION_PARAMS_SNAKE, metric_body
from ..errors import ValidationError

#: Sources whose metrics are scored by a judge prompt (FULL_PROMPT ones still exist and can be read and used).
JUDGED_SOURCES = ("PARTIAL_PROMPT", "FULL_PROMPT", "GEVAL", "DEEPEVAL")
#: What a FULL_PROMPT metric (judge prompt, no evaluation params) is shown: the question and the answer.
FULL_PROMPT_PARAMS = ("input", "actualOutput")


def camel(param: str) -> str:
    """An evaluation param in the seed's camelCase spelling (``actual_output`` -> ``actualOutput``)."""
    if param in EVALUATION_PARAMS_SNAKE:
        return EVALUATION_PARAMS[EVALUATION_PARAMS_SNAKE.index(param)]
    return param


def snake(param: str) -> str:
    """An evaluation param in snake_case (``actualOutput`` -> ``actual_output``): the prompt's section names."""
    if param in EVALUATION_PARAMS:
        return EVALUATION_PARAMS_SNAKE[EVALUATION_PARAMS.index(param)]
    return param


def check_scale(scale: Any) -> tuple[float, float]:
    """``(low, high)``: two finite numbers, low below high (numpy numbers made plain ones)."""
    try:
        shown = repr(scale)
    except ValueError:  # an int of more digits than Python will print
        shown = f"a {type(scale).__name__} holding a number too large to print"
    bad = ValidationError(f"scale must be (low, high), two finite numbers with low < high, got {shown[:200]}",
                          field="scale")
    if (not isinstance(scale, Sequence) or isinstance(scale, str) or len(scale) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in scale)):
        raise bad
    try:
        low, high = (int(v) if isinstance(v, numbers.Integral) else float(v) for v in scale)
        # a score goes to orq as 100 * (score - low) / (high - low): every part of that must be a finite number
        if not (math.isfinite(low) and math.isfinite(high) and low < high and math.isfinite(100.0 * (high - low))):
            raise bad
    except OverflowError:  # an int too large for a float
        raise bad from None
    return (low, high)


@dataclass(frozen=True, init=False)
class Metric:
    """How answers are scored: a name, a judge prompt, the evaluation params the judge sees, and a scale.

    >>> Metric("Correctness", "Score 1 if the answer states the expected facts.",
    ...        ["input", "actualOutput", "expectedOutput"])

    ``evaluation_params`` are kept in camelCase (``actualOutput``) whichever
    spelling was given. ``source`` is ``PARTIAL_PROMPT`` for a local metric with a
    judge prompt; ``HUMAN_EVALUATION`` metrics have none (people score them in the
    review queue). ``id`` is set for a metric read from Galtea.
    """

    name: str
    judge_prompt: str | None = None
    evaluation_params: tuple[str, ...] = ()
    scale: tuple[float, float] = (0, 1)
    source: str | None = None
    eval_params_top: bool = False
    id: str | None = None
    description: str | None = field(default=None, compare=False)

    def __init__(self, name: str, judge_prompt: str | None = None, evaluation_params: Sequence[str] | None = None,
                 scale: tuple[float, float] = (0, 1), *, source: str | None = None, eval_params_top: bool = False,
                 description: str | None = None) -> None:
        if source is None and judge_prompt is not None:
            source = "PARTIAL_PROMPT"  # the one judged source that can be created
        body = metric_body(name, source=source, judge_prompt=judge_prompt, evaluation_params=evaluation_params,
                           eval_params_top=eval_params_top, description=description)
        if body.get("source") == "PARTIAL_PROMPT" and not body.get("evaluationParams"):
            raise ValidationError("a judged metric needs evaluation_params: the fields the judge sees "
                                  "(e.g. input, actualOutput, expectedOutput)", field="evaluation_params")
        self._set(name=body["name"], judge_prompt=judge_prompt,
                  evaluation_params=tuple(camel(p) for p in body.get("evaluationParams", ())),
                  scale=check_scale(scale), source=body.get("source"), eval_params_top=bool(eval_params_top),
                  id=None, description=body.get("description"))

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any], *, scale: tuple[float, float] = (0, 1)) -> Metric:
        """A metric from a Galtea definition (camelCase, as ``create_metric`` and ``list_metrics`` return it).

        Read, not created, so no creation rule applies: an existing FULL_PROMPT
        metric (a judge prompt and no evaluation params) is used with
        :data:`FULL_PROMPT_PARAMS`.
        """
        if not isinstance(definition, Mapping) or not isinstance(definition.get("name"), str):
            raise ValidationError("a metric definition must be a dict with a 'name' (what create_metric returns)",
                                  field="metric")
        metric = cls.__new__(cls)
        source = definition.get("source")
        raw = definition.get("evaluationParams") or []
        if isinstance(raw, (str, Mapping)) or not isinstance(raw, Sequence):  # "input" is not ["i", "n", ...]
            raise ValidationError(f"metric {definition['name']!r}: evaluationParams must be a list of names, "
                                  f"got {type(raw).__name__}", field="metric")
        params = [camel(p) for p in raw if isinstance(p, str)]
        prompt = definition.get("judgePrompt")
        if prompt and not params and source in (None, "FULL_PROMPT"):
            params = list(FULL_PROMPT_PARAMS)
        metric._set(name=definition["name"], judge_prompt=prompt if isinstance(prompt, str) and prompt.strip() else None,
                    evaluation_params=tuple(params), scale=check_scale(scale),
                    source=source.upper() if isinstance(source, str) else source,
                    eval_params_top=bool(definition.get("areEvalParamsTop")), id=definition.get("id"),
                    description=definition.get("description"))
        return metric

    @property
    def label(self) -> str:
        """The name, with the id when there is one (what reprs and messages show)."""
        return f"{self.name} ({self.id})" if self.id else self.name

    def definition(self) -> dict[str, Any]:
        """The ``create_metric`` keyword arguments that define this metric on Galtea."""
        fields: dict[str, Any] = {"source": self.source, "evaluation_params": list(self.evaluation_params) or None,
                                  "judge_prompt": self.judge_prompt, "description": self.description}
        if self.eval_params_top:
            fields["eval_params_top"] = True
        return {k: v for k, v in fields.items() if v is not None}

    def create(self, *, galtea: Any = None, **more: Any) -> dict[str, Any]:
        """Create this metric on Galtea (with any further ``create_metric`` fields) and return its definition."""
        if galtea is None:
            from ..clients.shared import client

            galtea = client("galtea")
        return galtea.create_metric(self.name, **{**self.definition(), **more})

    def __repr__(self) -> str:
        params = ", ".join(self.evaluation_params)
        return f"Metric({self.label!r}, source={self.source}, params=[{params}], scale={self.scale})"


def resolve(metric: Any, *, galtea: Any = None) -> Metric:
    """A :class:`Metric` from a Metric, a Galtea definition dict, or a name / id looked up on Galtea."""
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, Mapping):
        return Metric.from_definition(metric)
    if not isinstance(metric, str) or not metric.strip():
        raise ValidationError("metric must be an orqmagic.Metric, a Galtea metric definition (dict), or a metric "
                              f"name or id, got {type(metric).__name__}", field="metric")
    return Metric.from_definition(_lookup(metric.strip(), galtea))


def _lookup(name_or_id: str, galtea: Any) -> dict[str, Any]:
    """The active metric called ``name_or_id``, else the metric with that id."""
    from ..errors import NotFoundError

    if galtea is None:
        from ..clients.shared import client

        galtea = client("galtea")
    named = galtea.list_metrics(names=[name_or_id])
    if len(named) > 1:
        ids = ", ".join(m.get("id", "?") for m in named)
        raise ValidationError(f"{len(named)} active metrics are called {name_or_id!r} ({ids}): pass the id",
                              field="metric")
    if named:
        return named[0]
    try:
        return galtea.get_metric(name_or_id)
    except (NotFoundError, ValidationError):
        raise ValidationError(f"no metric named {name_or_id!r} on Galtea, and no metric with that id",
                              field="metric") from None


__all__ = ["FULL_PROMPT_PARAMS", "JUDGED_SOURCES", "Metric", "camel", "check_scale", "resolve", "snake"]
