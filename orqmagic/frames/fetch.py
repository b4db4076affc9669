"""``fetch_metrics``: times in any reasonable form, windows longer than 7 days split and stitched."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import numbers
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..clients.baseten import KNOWN_METRICS, MAX_WINDOW_MS, MODES
from ..errors import ValidationError
from .build import build_frame

if TYPE_CHECKING:
    from ..clients import BasetenClient

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w|wk)\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\s*$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400,
                 "days": 86400, "w": 604800, "wk": 604800}


# Bounds that keep one call's work bounded: times from 2000 to a day ahead, and at most
# MAX_PIECES requests of 7 days (about 14 months) unless the caller raises ``max_requests``.
EARLIEST_MS = 946_684_800_000  # 2000-01-01
FUTURE_SLACK_MS = 86_400_000
MAX_PIECES = 60
MAX_DURATION_S = 100 * 365 * 86_400


def parse_duration(text: str) -> dt.timedelta:
    """``"90m"``, ``"24h"``, ``"7d"``, ``"2w"`` as a timedelta."""
    match = _RELATIVE.match(text)
    if not match:
        raise ValidationError(f"cannot read {text!r} as a duration; use forms like 30m, 24h, 7d", field="window")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise ValidationError(f"the duration {text.strip()!r} is longer than a century; use forms like 30m, 24h, 7d",
                              field="window")
    return dt.timedelta(seconds=seconds)


def _number_to_millis(value: float, field: str) -> int:
    if not math.isfinite(value):
        raise ValidationError(f"{field} must be a finite epoch in milliseconds, got {value!r}", field=field)
    if value < EARLIEST_MS:
        if value > 0 and EARLIEST_MS <= value * 1000 < 10 * EARLIEST_MS:
            raise ValidationError(f"{field}={value:g} looks like epoch seconds; times are epoch milliseconds "
                                  f"(use {int(value * 1000)}) or datetimes", field=field)
        raise ValidationError(f"{field} must be epoch milliseconds from the year 2000 on, got {value:g}", field=field)
    return int(value)


def to_millis(value: Any, *, now_ms: int, field: str) -> int:
    """Epoch ms from a datetime, Timestamp, epoch ms, ISO string, or a duration ago (``"24h"``), within bounds."""
    millis = _to_millis(value, now_ms=now_ms, field=field)
    if millis < EARLIEST_MS:
        raise ValidationError(f"{field} is before the year 2000; Baseten keeps no metrics that old", field=field)
    if millis > now_ms + FUTURE_SLACK_MS:
        raise ValidationError(f"{field} is in the future ({pd.Timestamp(millis, unit='ms', tz='UTC'):%Y-%m-%d}); "
                              "metrics exist only up to now", field=field)
    return millis


def _to_millis(value: Any, *, now_ms: int, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a time, got {value!r}", field=field)
    if isinstance(value, numbers.Real):
        return _number_to_millis(float(value), field)
    if isinstance(value, dt.timedelta):
        if abs(value.total_seconds()) > MAX_DURATION_S:
            raise ValidationError(f"{field}: a duration longer than a century", field=field)
        return now_ms - int(value.total_seconds() * 1000)
    if isinstance(value, str) and _NUMBER.match(value):  # "1700000000" from a magic's --start is a number too
        return _number_to_millis(float(value), field)
    if isinstance(value, str) and _RELATIVE.match(value):
        return now_ms - int(parse_duration(value).total_seconds() * 1000)
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(f"{field}: cannot read {value!r} as a time (or it is out of range)", field=field) from None
    if stamp is pd.NaT:
        raise ValidationError(f"{field}: cannot read {value!r} as a time", field=field)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.timestamp() * 1000)


def check_metric_names(names: list[str]) -> None:
    import difflib

    for name in names:
        if name not in KNOWN_METRICS:
            close = difflib.get_close_matches(str(name), KNOWN_METRICS, n=1)
            hint = f"; did you mean {close[0]}?" if close else "; pass strict=False to send it anyway"
            raise ValidationError(f"unknown Baseten metric {name!r}{hint}", field="metrics")


def plan_windows(start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """Equal pieces of at most 7 days (equal, so each piece gets the same derived step)."""
    pieces = max(1, math.ceil((end_ms - start_ms) / MAX_WINDOW_MS))
    bounds = [start_ms + (end_ms - start_ms) * i // pieces for i in range(pieces + 1)]
    return list(itertools.pairwise(bounds))


def fetch_metrics(
    model_id: str,
    deployment_id: str,
    metrics: Sequence[str] | None = None,
    *,
    mode: str = "SERIES",
    start: Any = None,
    end: Any = None,
    baseten: BasetenClient | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    strict: bool = True,
    max_requests: int = MAX_PIECES,
) -> pd.DataFrame:
    """Deployment metrics as a tidy DataFrame (see :func:`orqmagic.frames.build.build_frame`).

    ``start``/``end`` take datetimes, Timestamps, epoch ms, ISO strings or durations
    ago (``start="24h"``); ``end`` defaults to now and ``start`` to an hour before it.
    SERIES windows longer than the API's 7 days are fetched in equal pieces and
    stitched: steps at the seams appear once. Metric names outside Baseten's
    supported list are refused before sending (with a suggestion); ``strict=False``
    sends them anyway, for metrics newer than this release.

    Work is bounded: times must lie between 2000 and a day from now (epoch
    *seconds* are refused with a hint), and a window may take at most
    ``max_requests`` 7-day pieces (60, about 14 months) unless you raise it.

    ``model_id`` / ``deployment_id``: the Baseten model and deployment. ``metrics``: metric names
    (default ``None``: the API's default set, ``baseten_replicas_active``,
    ``baseten_inference_requests_total`` and ``baseten_end_to_end_response_time_seconds``); the
    supported names are ``orqmagic.clients.baseten.KNOWN_METRICS``. ``mode``: ``SERIES`` (default,
    evenly spaced steps; 1 min up to 2 h, 5 min up to 12 h, 15 min up to 48 h, then 1 h), ``SUMMARY``
    (one value set aggregating the window, at most 7 days) or ``CURRENT`` (a snapshot at now; no
    ``start``/``end``). ``baseten``: a client (default: the configured one). ``on_progress``: called
    with ``(done, total)`` requests as pieces arrive.
    """
    if strict and metrics is not None:
        check_metric_names([metrics] if isinstance(metrics, str) else list(metrics))
    mode = str(mode).upper()
    if mode not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", field="mode")
    if baseten is None:
        from ..clients.shared import client

        baseten = client("baseten")
    if mode == "CURRENT":
        if start is not None or end is not None:
            raise ValidationError("CURRENT mode is a snapshot at now: leave start and end out", field="start")
        frame = build_frame(baseten.deployment_metrics(model_id, deployment_id, metrics, mode=mode),
                            model_id=model_id, deployment_id=deployment_id)
        if on_progress:
            on_progress(1, 1)
        return frame
    now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    end_ms = now_ms if end is None else to_millis(end, now_ms=now_ms, field="end")
    start_ms = end_ms - 3_600_000 if start is None else to_millis(start, now_ms=now_ms, field="start")
    if end_ms <= start_ms:
        raise ValidationError("end must be after start", field="end")
    if isinstance(max_requests, bool) or not isinstance(max_requests, numbers.Integral) or max_requests < 1:
        raise ValidationError(f"max_requests must be a whole number >= 1, got {max_requests!r}", field="max_requests")
    pieces = math.ceil((end_ms - start_ms) / MAX_WINDOW_MS)
    if pieces > max_requests:
        raise ValidationError(f"this window needs {pieces} requests of 7 days, more than the limit of {max_requests}; "
                              f"pass max_requests={pieces} to fetch it anyway", field="start")
    windows = plan_windows(start_ms, end_ms)
    if mode == "SUMMARY" and len(windows) > 1:
        raise ValidationError("a SUMMARY covers at most 7 days (it cannot be stitched); use SERIES", field="start")
    frames = []
    for done, (piece_start, piece_end) in enumerate(windows, 1):
        response = baseten.deployment_metrics(model_id, deployment_id, metrics, mode=mode, start=piece_start, end=piece_end)
        frames.append(build_frame(response, model_id=model_id, deployment_id=deployment_id))
        if on_progress:
            on_progress(done, len(windows))
    frame = frames[0] if len(frames) == 1 else _stitch(frames)
    frame.attrs["window"] = (pd.Timestamp(start_ms, unit="ms", tz="UTC"), pd.Timestamp(end_ms, unit="ms", tz="UTC"))
    frame.attrs["requests"] = len(windows)
    return frame


def _stitch(frames: list[pd.DataFrame]) -> pd.DataFrame:
    attrs = dict(frames[0].attrs)
    steps = {f.attrs.get("step_seconds") for f in frames}
    combined = pd.concat(frames, ignore_index=True)
    for column in combined.columns:
        if isinstance(frames[0][column].dtype, pd.CategoricalDtype) and not isinstance(combined[column].dtype, pd.CategoricalDtype):
            combined[column] = combined[column].astype("category")
    combined = combined.drop_duplicates(subset=["time", "metric", "series"], keep="first", ignore_index=True)
    combined = combined.sort_values(["time"], kind="stable", ignore_index=True)
    attrs["step_seconds"] = max(s for s in steps if s is not None) if any(s is not None for s in steps) else None
    combined.attrs = attrs
    return combined
