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

__all__ = ["TIME_DTYPE", "model_name", "records_frame", "snake_case", "utc_times"]

TIME_DTYPE = "datetime64[ms, UTC]"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``createdAt`` → ``created_at``, ``metricGroupID`` → ``metric_group_id``, ``p99.9`` → ``p99_9``."""
    words = _CAMEL.sub("_", str(name)).lower()
    return re.sub(r"[^a-z0-9]+", "_", words).strip("_") or "value"


def utc_times(values: Any) -> pd.Series:
    """ISO strings, epoch seconds' datetimes or Timestamps as ``datetime64[ms, UTC]`` (unreadable ones: NaT)."""
    import pandas as pd

    return pd.to_datetime(pd.Series(values), utc=True, errors="coerce", format="ISO8601").astype(TIME_DTYPE)


def _is_time_column(name: str) -> bool:
    return name in ("created", "updated", "time") or name.endswith(("_at", "_time"))


def _flat_cell(value: Any) -> Any:
    if isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def records_frame(records: Iterable[Mapping[str, Any]], first: Iterable[str] = ()) -> pd.DataFrame:
    """API records as a frame that follows the convention: nested records become ``parent_child`` columns,
    names snake_case, ``*_at``/``created``/``updated`` columns UTC times; ``first`` columns lead."""
    import pandas as pd

    records = list(records)
    frame = pd.json_normalize(records, sep="_") if records else pd.DataFrame()
    frame.columns = [snake_case(c) for c in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated()]
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
