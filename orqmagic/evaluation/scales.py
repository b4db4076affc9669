"""What a reviewer scores on: the scale (its values, keys and orq scores) and the metric that gives the rubric.

Pure data, no widgets: the keyboard and the buttons of the review queue are
both made from a :class:`Scale`, and feedback sent to orq needs a whole number
from 0 to 100, so every scale says how its values map there.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError

MAX_POINTS = 10  # one key per value: the digits 1..9 and 0


@dataclass(frozen=True)
class Scale:
    """Values a reviewer can give, in order, with the key for each and the 0–100 score orq receives for it.

    ``numeric`` scales compare to a judge with Spearman's rho; the others
    (thumbs, labels) with Cohen's kappa.
    """

    values: tuple[Any, ...]
    keys: tuple[str, ...]
    orq_scores: tuple[int, ...]
    labels: tuple[str, ...]
    numeric: bool

    def key_for(self, char: str) -> Any:
        """The value a key gives, or raise KeyError."""
        if char in self.keys:
            return self.values[self.keys.index(char)]
        if self.is_thumbs and char in "+-":
            return self.values[1] if char == "+" else self.values[0]
        raise KeyError(char)

    @property
    def is_thumbs(self) -> bool:
        return self.values == (0, 1) and not self.numeric

    def check(self, value: Any) -> Any:
        """``value`` as stored (numpy scalars and whole floats made plain), or a ValidationError naming the scale."""
        from ..store.reviews import plain

        value = plain(value)
        if isinstance(value, bool) and self.is_thumbs:  # True/False are 👍/👎; on any other scale not a score
            value = int(value)
        if isinstance(value, str):
            value = str(value)  # numpy.str_ and other str subclasses
        for known in self.values:
            try:
                if value == known and type(value) is type(known):
                    return known
            except (TypeError, ValueError):  # pd.NA, arrays: no truth value, so no score
                break
        raise ValidationError(f"score {value!r} is not on this queue's scale ({', '.join(map(str, self.values))})",
                              field="score")

    def orq_score(self, value: Any) -> int:
        return self.orq_scores[self.values.index(value)]

    def describe(self) -> str:
        """The keys of the scale for a hint line: ``1–5 score``, ``0 👎 · 1 👍``, ``1 bad · 2 ok · 3 good``."""
        if self.labels == self.keys:
            return f"{self.keys[0]}–{self.keys[-1]} score"
        return " · ".join(f"{k} {lab}" for k, lab in zip(self.keys, self.labels, strict=True))


def make_scale(scale: Any) -> Scale:
    """A :class:`Scale` from what ``review(scale=...)`` accepts.

    - ``"thumbs"`` or ``(0, 1)`` / ``[0, 1]``: 👎 0 and 👍 1 (keys ``0``/``1``, also ``-``/``+``), sent as 0 and 100.
    - ``(low, high)`` whole numbers, at most 10 points: every whole number between, sent spread over 0–100.
    - a list of labels (``["bad", "ok", "good"]``) or of numbers: those values in order, keys ``1``, ``2``, ….
    - a dict ``{label: orq_score}``: labels with the 0–100 score each sends.
    """
    if isinstance(scale, str) and scale == "thumbs":
        scale = (0, 1)
    if isinstance(scale, Mapping):
        values = tuple(scale)
        scores = tuple(scale.values())
        for label, score in scale.items():
            if not isinstance(label, str) or not label.strip():
                raise ValidationError("the labels of a scale dict must be non-empty strings", field="scale")
            if isinstance(score, bool) or not isinstance(score, numbers.Integral) or not 0 <= score <= 100:
                raise ValidationError(f"label {label!r} needs an orq score, a whole number from 0 to 100, got {score!r}",
                                      field="scale")
        return _finish(values, tuple(int(s) for s in scores), numeric=False)
    if isinstance(scale, tuple) and len(scale) == 2 and all(_whole(v) for v in scale) and scale != (0, 1):
        low, high = int(scale[0]), int(scale[1])
        if high <= low:
            raise ValidationError(f"a scale (low, high) needs low < high, got {scale!r}", field="scale")
        scale = list(range(low, high + 1))
        if len(scale) > MAX_POINTS:
            raise ValidationError(f"a scale has at most {MAX_POINTS} points (one key each), got {len(scale)}",
                                  field="scale")
    if isinstance(scale, Sequence) and not isinstance(scale, str):
        values = tuple(int(v) if _whole(v) else v for v in scale)
        if values == (0, 1):
            return Scale((0, 1), ("0", "1"), (0, 100), ("👎", "👍"), numeric=False)
        if not values or len(set(values)) != len(values):
            raise ValidationError("a scale needs distinct values", field="scale")
        numeric = all(_whole(v) for v in values)
        if not numeric and not all(isinstance(v, str) and v.strip() for v in values):
            raise ValidationError("a scale's values are whole numbers or non-empty labels, not a mix", field="scale")
        if numeric:
            if list(values) != sorted(values):
                raise ValidationError("a numeric scale's values go from low to high", field="scale")
            low, high = values[0], values[-1]
            scores = tuple(round(100 * (v - low) / (high - low)) if high > low else 100 for v in values)
        else:
            scores = tuple(round(100 * i / (len(values) - 1)) if len(values) > 1 else 100 for i in range(len(values)))
        return _finish(values, scores, numeric=numeric)
    raise ValidationError(f"scale must be 'thumbs', (low, high), a list of values or a dict of labels, got {scale!r}",
                          field="scale")


def _whole(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def _finish(values: tuple[Any, ...], scores: tuple[int, ...], *, numeric: bool) -> Scale:
    if len(values) > MAX_POINTS:
        raise ValidationError(f"a scale has at most {MAX_POINTS} points (one key each), got {len(values)}",
                              field="scale")
    if len(values) < 2:
        raise ValidationError("a scale needs at least two values", field="scale")
    if numeric and all(0 <= v <= 9 for v in values):
        keys = tuple(str(v) for v in values)  # the key is the score itself
    else:
        keys = tuple(str((i + 1) % 10) for i in range(len(values)))
    return Scale(values, keys, scores, tuple(str(v) for v in values), numeric)


@dataclass(frozen=True)
class Rubric:
    """What a metric definition contributes: the name that labels the scores and the text shown as the rubric."""

    name: str | None
    text: str | None
    metric_id: str | None

    @property
    def label(self) -> str:
        return self.name or "score"


def rubric_of(metric: Any) -> Rubric:
    """The rubric of a metric: a Galtea metric dict (``name``, ``judgePrompt`` or ``description``) or any object
    with those attributes (snake_case too, as a ``Metric`` helper has them); None gives no rubric."""
    if metric is None:
        return Rubric(None, None, None)
    if isinstance(metric, str):
        return Rubric(metric, None, None)

    def field(*names: str) -> Any:
        for name in names:
            value = metric.get(name) if isinstance(metric, Mapping) else getattr(metric, name, None)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    name = field("name")
    if name is None:
        raise ValidationError("metric needs a name (a Galtea metric dict, a Metric, or a name)", field="metric")
    return Rubric(name, field("judgePrompt", "judge_prompt", "description"), field("id", "metric_id"))


__all__ = ["MAX_POINTS", "Rubric", "Scale", "make_scale", "rubric_of"]
