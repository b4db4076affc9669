"""Baseten metrics responses into tidy (long) DataFrames, without a Python loop per value.

The response is index-mapped: descriptors once, then per time step a list per
metric aligned to that metric's label sets. Flattening each step gives one row
of a T×K matrix (K = all series of all metrics); the long frame is that matrix
raveled, with per-series columns tiled and times repeated.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Layout:
    """Everything derived from the descriptors alone: the same for every fetch of the same metrics."""

    widths: tuple[int, ...]
    columns: tuple[str, ...]  # per-series columns: metric, series, each label key, unit, kind
    dtypes: tuple[pd.CategoricalDtype, ...]
    codes: np.ndarray  # one row of category codes per column, one code per series


def _layout_key(response: Mapping[str, Any]) -> tuple:
    """The descriptors as a hashable key (checked fully, once per layout, by :func:`_layout`)."""
    descriptors = response.get("metric_descriptors")
    if not isinstance(descriptors, list):
        raise MetricsFormatError("metric_descriptors is missing or not a list")
    try:
        return tuple(
            (d["name"], d.get("unit_hint") or "UNKNOWN", d.get("kind") or "UNKNOWN",
             tuple(tuple(sorted(labels.items())) for labels in d["label_sets"]))
            for d in descriptors
        )
    except (TypeError, KeyError, AttributeError):
        raise MetricsFormatError("each metric descriptor needs a name and label_sets (a list of label maps)") from None


def _check_layout(key: tuple) -> None:
    for i, (name, _unit, _kind, label_sets) in enumerate(key):
        if not isinstance(name, str):
            raise MetricsFormatError(f"metric_descriptors[{i}] has no name")
        if not label_sets:
            raise MetricsFormatError(f"metric_descriptors[{i}] ({name}) needs a non-empty list of label_sets")
        if not all(isinstance(v, str) for labels in label_sets for _, v in labels):
            raise MetricsFormatError(f"metric_descriptors[{i}] ({name}) has a label value that is not a string")


@functools.lru_cache(maxsize=128)
def _layout(key: tuple) -> _Layout:
    _check_layout(key)
    per_series: dict[str, list[Any]] = {"metric": [], "series": []}
    label_keys = list(dict.fromkeys(k for _, _, _, label_sets in key for labels in label_sets for k, _ in labels))
    per_series.update({k: [] for k in label_keys})
    per_series.update(unit=[], kind=[])
    for name, unit, kind, label_sets in key:
        for labels in label_sets:
            mapping = dict(labels)
            per_series["metric"].append(name)
            per_series["series"].append(series_name(mapping))
            for k in label_keys:
                per_series[k].append(mapping.get(k))
            per_series["unit"].append(str(unit))
            per_series["kind"].append(str(kind))
    dtypes, codes = [], []
    for values in per_series.values():
        categories = [c for c in dict.fromkeys(values) if c is not None]
        index = {c: i for i, c in enumerate(categories)}
        dtypes.append(pd.CategoricalDtype(categories))
        codes.append([-1 if c is None else index[c] for c in values])
    width = sum(len(label_sets) for *_, label_sets in key)
    return _Layout(
        widths=tuple(len(label_sets) for *_, label_sets in key),
        columns=tuple(per_series),
        dtypes=tuple(dtypes),
        codes=np.array(codes, dtype=np.int32).reshape(len(codes), width),
    )


def build_frame(response: Mapping[str, Any], *, model_id: str | None = None, deployment_id: str | None = None) -> pd.DataFrame:
    """One row per (time, metric, series): ``time`` (UTC, the step start), ``metric``, ``series``,
    one column per label key, ``value`` (NaN for null), ``unit``, ``kind``. ``attrs`` keep the context."""
    layout = _layout(_layout_key(response))
    values = response.get("metric_values")
    if not isinstance(values, list):
        raise MetricsFormatError("metric_values is missing or not a list")
    matrix = _matrix(values, list(layout.widths))
    steps, width = matrix.shape
    try:
        starts = np.fromiter(map(operator.itemgetter("start_epoch_millis"), values), dtype=np.int64, count=len(values))
    except (KeyError, TypeError, ValueError):
        raise MetricsFormatError("every value set needs an integer start_epoch_millis") from None
    tiled = np.tile(layout.codes, (1, steps))
    categorical = {name: pd.Categorical.from_codes(tiled[i], dtype=layout.dtypes[i], validate=False)
                   for i, name in enumerate(layout.columns)}
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


def _timestamp(millis: Any) -> pd.Timestamp | None:
    return pd.Timestamp(millis, unit="ms", tz="UTC") if isinstance(millis, (int, float)) else None


def wide_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a :func:`~orqmagic.fetch_metrics` frame) with one column per metric and series, indexed by time: ``<metric>_<series>`` in snake_case
    (``baseten_end_to_end_response_time_seconds_p99``, ``baseten_inference_requests_total_2xx``);
    a plain metric (series ``value``) keeps its bare name."""
    from .convention import snake_case

    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time").astype("datetime64[ms, UTC]"))
    metric, series = frame["metric"].astype(str), frame["series"].astype(str)
    names = metric.where(series == "value", (metric + "_" + series).map(snake_case))
    wide = frame.assign(column=names).pivot_table(index="time", columns="column", values="value",
                                                  aggfunc="first", dropna=False, observed=True, sort=False)
    wide.columns.name = None
    wide.attrs = dict(frame.attrs)
    return wide
