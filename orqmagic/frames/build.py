"""Baseten metrics responses into tidy (long) DataFrames, without a Python loop per value.

The response is index-mapped: descriptors once, then per time step a list per
metric aligned to that metric's label sets. Flattening each step gives one row
of a T×K matrix (K = all series of all metrics); the long frame is that matrix
raveled, with per-series columns tiled and times repeated.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OrqMagicError

COLUMNS = ["time", "metric", "series", "value", "unit", "kind"]


class MetricsFormatError(OrqMagicError):
    """A metrics response whose descriptors and values do not line up."""


def series_name(labels: Mapping[str, str]) -> str:
    """A readable series name: ``value``, ``p50``/``p90``/``p99``/``avg``, ``2xx``, ..."""
    if not labels:
        return "value"
    if set(labels) == {"quantile"}:
        try:
            q = float(labels["quantile"]) * 100
        except ValueError:
            return f"q{labels['quantile']}"
        return f"p{q:g}"
    if set(labels) == {"stat"}:
        return str(labels["stat"])
    if set(labels) == {"status"}:
        return str(labels["status"])
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _descriptors(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    descriptors = response.get("metric_descriptors")
    if not isinstance(descriptors, list):
        raise MetricsFormatError("metric_descriptors is missing or not a list")
    for i, d in enumerate(descriptors):
        if not isinstance(d, Mapping) or not isinstance(d.get("name"), str):
            raise MetricsFormatError(f"metric_descriptors[{i}] has no name")
        label_sets = d.get("label_sets")
        if not isinstance(label_sets, list) or not label_sets or not all(isinstance(x, Mapping) for x in label_sets):
            raise MetricsFormatError(f"metric_descriptors[{i}] ({d['name']}) needs a non-empty list of label_sets")
    return descriptors  # type: ignore[return-value]


def _matrix(values: list[Any], widths: list[int]) -> np.ndarray:
    """The T×K value matrix: one flattening pass over the nested lists, checked by their lengths."""
    chain = itertools.chain.from_iterable
    try:
        per_step = [value_set["values"] for value_set in values]
        lengths = np.array([len(v) for step in per_step for v in step], dtype=np.int64)
    except (TypeError, KeyError):
        raise MetricsFormatError("every value set needs a 'values' list of lists") from None
    if lengths.size != len(values) * len(widths) or (lengths.reshape(len(values), len(widths)) != widths).any():
        raise MetricsFormatError(
            f"value sets must hold one list per descriptor, as long as its label_sets ({widths})"
        )
    try:
        flat = np.array(list(chain(chain(per_step))), dtype=float)
    except (TypeError, ValueError):
        raise MetricsFormatError("metric values must be numbers or null") from None
    return flat.reshape(len(values), sum(widths))


def build_frame(response: Mapping[str, Any], *, model_id: str | None = None, deployment_id: str | None = None) -> pd.DataFrame:
    """One row per (time, metric, series): ``time`` (UTC, the step start), ``metric``, ``series``,
    one column per label key, ``value`` (NaN for null), ``unit``, ``kind``. ``attrs`` keep the context."""
    descriptors = _descriptors(response)
    values = response.get("metric_values")
    if not isinstance(values, list):
        raise MetricsFormatError("metric_values is missing or not a list")
    widths = [len(d["label_sets"]) for d in descriptors]
    matrix = _matrix(values, widths)
    steps, width = matrix.shape
    try:
        starts = np.array([v["start_epoch_millis"] for v in values], dtype="int64")
    except (KeyError, TypeError, ValueError):
        raise MetricsFormatError("every value set needs an integer start_epoch_millis") from None

    label_sets = [labels for d in descriptors for labels in d["label_sets"]]
    metric_codes = np.repeat(np.arange(len(descriptors)), widths)
    names = [str(d["name"]) for d in descriptors]

    columns: dict[str, list[Any]] = {
        "metric": [names[c] for c in metric_codes],
        "series": [series_name(labels) for labels in label_sets],
    }
    for key in dict.fromkeys(k for labels in label_sets for k in labels):
        columns[key] = [labels.get(key) for labels in label_sets]
    columns["unit"] = [str(d.get("unit_hint") or "UNKNOWN") for d in descriptors for _ in d["label_sets"]]
    columns["kind"] = [str(d.get("kind") or "UNKNOWN") for d in descriptors for _ in d["label_sets"]]
    dtypes, codes = [], []
    for column in columns.values():  # each per-series column as categorical codes, all tiled at once
        categories = [c for c in dict.fromkeys(column) if c is not None]
        index = {c: i for i, c in enumerate(categories)}
        dtypes.append(_categories(tuple(categories)))
        codes.append([-1 if c is None else index[c] for c in column])
    tiled = np.tile(np.array(codes, dtype=np.int32).reshape(len(codes), width), (1, steps))
    categorical = {name: pd.Categorical.from_codes(tiled[i], dtype=dtypes[i], validate=False)
                   for i, name in enumerate(columns)}
    data: dict[str, Any] = {
        "time": pd.DatetimeIndex(np.repeat(starts, width).astype("datetime64[ms]"), tz="UTC"),
        "metric": categorical.pop("metric"),
        "series": categorical.pop("series"),
    }
    unit, kind = categorical.pop("unit"), categorical.pop("kind")
    data.update(categorical)  # the label columns
    data["value"] = matrix.reshape(-1)
    data["unit"], data["kind"] = unit, kind
    frame = pd.DataFrame(data, index=pd.RangeIndex(steps * width), copy=False)
    frame.attrs.update({
        "mode": response.get("mode"),
        "step_seconds": response.get("step_seconds"),
        "window": (_timestamp(response.get("start_epoch_millis")), _timestamp(response.get("end_epoch_millis"))),
        "model_id": model_id,
        "deployment_id": deployment_id,
    })
    return frame


@functools.lru_cache(maxsize=256)
def _categories(values: tuple[str, ...]) -> pd.CategoricalDtype:
    """Metric, series, unit and kind names repeat from fetch to fetch: build each dtype once."""
    return pd.CategoricalDtype(list(values))


def _timestamp(millis: Any) -> pd.Timestamp | None:
    return pd.Timestamp(millis, unit="ms", tz="UTC") if isinstance(millis, (int, float)) else None


def wide_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """One column per ``metric/series`` (``value`` series keep the bare metric name), indexed by time."""
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time"))
    names = frame["metric"].astype(str).where(frame["series"].astype(str) == "value",
                                              frame["metric"].astype(str) + "/" + frame["series"].astype(str))
    wide = frame.assign(column=names).pivot_table(index="time", columns="column", values="value",
                                                  aggfunc="first", dropna=False, observed=True, sort=False)
    wide.columns.name = None
    wide.attrs = dict(frame.attrs)
    return wide
