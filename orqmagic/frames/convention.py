"""One convention for every DataFrame the package returns (see README, "Frames").

- columns are snake_case (``created_at``, not ``createdAt``);
- times are ``datetime64[ms, UTC]`` (not strings, not nanosecond noise);
- cells are flat: no dict-valued cells (a nested record becomes columns, a list of records JSON text);
- the index is unique;
- a model is named ``provider/model``, the form ``prices=`` is keyed by.

These helpers turn API records (camelCase, ISO strings, nested dicts) into such frames.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..clients.accumulator import model_name

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TIME_DTYPE", "model_name", "records_frame", "snake_case", "unique_names", "utc_times"]

TIME_DTYPE = "datetime64[ms, UTC]"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``createdAt`` → ``created_at``, ``metricGroupID`` → ``metric_group_id``, ``p99.9`` → ``p99_9``.

    Letters and digits of any script are kept (``Größe`` → ``größe``, ``名前`` stays): dropping them
    turned every non-ASCII name into the same ``value`` and the columns into one.
    """
    words = _CAMEL.sub("_", str(name)).lower()
    return re.sub(r"[\W_]+", "_", words).strip("_") or "value"


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` with repeats told apart as ``name_2``, ``name_3``: distinct sources whose names meet
    after snake-casing (``a.b`` and ``a_b``) stay two columns instead of one silently overwriting the other."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def utc_times(values: Any) -> pd.Series:
    """ISO strings, epoch seconds' datetimes or Timestamps as ``datetime64[ms, UTC]`` (unreadable ones: NaT)."""
    import pandas as pd

    return pd.to_datetime(pd.Series(values), utc=True, errors="coerce", format="ISO8601").astype(TIME_DTYPE)


def _is_time_column(name: str) -> bool:
    name = re.sub(r"_\d+$", "", name)  # created_at_2 (see unique_names) is a time as created_at is
    return name in ("created", "updated", "time") or name.endswith(("_at", "_time"))


def _flat_cell(value: Any) -> Any:
    if isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def _merge_repeats(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Columns renamed to ``names``; where two meet (``createdAt`` and ``created_at``) one is kept if they
    hold the same values, else both, the later as ``<name>_2``: never a column's data silently dropped."""
    keep: list[int] = []
    for position, name in enumerate(names):
        column = frame.iloc[:, position]
        if not any(names[p] == name and column.equals(frame.iloc[:, p]) for p in keep):
            keep.append(position)
    renamed = unique_names([names[p] for p in keep])
    out = frame.iloc[:, keep]
    out.columns = renamed
    return out


def records_frame(records: Iterable[Mapping[str, Any]], first: Iterable[str] = ()) -> pd.DataFrame:
    """API records as a frame that follows the convention: nested records become ``parent_child`` columns,
    names snake_case, ``*_at``/``created``/``updated`` columns UTC times; ``first`` columns lead."""
    import pandas as pd

    records = list(records)
    frame = pd.json_normalize(records, sep="_") if records else pd.DataFrame()
    frame = _merge_repeats(frame, [snake_case(c) for c in frame.columns])
    for column in frame.columns:
        if _is_time_column(column):
            frame[column] = utc_times(frame[column]).set_axis(frame.index)
        elif frame[column].dtype == object:
            frame[column] = frame[column].map(_flat_cell)
    for column in first:
        if column not in frame:
            frame[column] = pd.Series([None] * len(frame), dtype=TIME_DTYPE if _is_time_column(column) else object)
    first = list(first)
    return frame[first + [c for c in frame.columns if c not in first]].reset_index(drop=True)
