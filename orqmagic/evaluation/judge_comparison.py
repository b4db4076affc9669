"""``Comparison.judge``: one prompt's answers, scored with a metric or judged against each other.

A comparison is a one-case dataset: its columns become rows (or, pairwise, two
one-row frames), so the judging is exactly :func:`~.judging.judge` and
:func:`~.pairwise.pairwise`, with nothing of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    from .comparison import Comparison


def judge_comparison(comparison: Comparison, metric: Any = None, *, criteria: Any = None,
                     expected: str | None = None, columns: Sequence[str] | None = None, **options: Any) -> Any:
    from .judging import judge
    from .pairwise import pairwise

    if (metric is None) == (criteria is None):
        raise ValidationError("give a metric (score each column) or criteria= (two columns against each other)",
                              field="metric")
    frame = comparison.to_frame()
    frame.insert(0, "input", comparison.prompt)
    if expected is not None:
        frame.insert(1, "expected", expected)
    if metric is not None:
        return judge(frame.set_index("label", drop=False), metric, **options)
    labels = list(columns) if columns is not None else comparison.labels[:2]
    if len(labels) != 2:
        raise ValidationError(f"pairwise judging takes two columns, got {len(labels)}", field="columns")
    rows = [frame[frame["label"] == comparison._label(label)].drop(columns=["label", "deployment"])
            .reset_index(drop=True) for label in labels]
    return pairwise(rows[0], rows[1], criteria=criteria, labels=labels, **options)


__all__ = ["judge_comparison"]
