"""The sandbox's Baseten SUMMARY aggregates the whole window, as the metrics document says.

It used to read one sample at the window's start, so a window opening in a quiet minute
(no traffic, so no counts or latencies) summarised a whole week as NaN.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.sandbox.baseten import METRICS, _noise, series_value, step_weights, summarize_window

DAY = 86_400_000
METRIC_NAMES = ["baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds", "baseten_replicas_active"]


def quiet_minute(deployment: str, after_ms: int) -> int:
    """The first minute after ``after_ms`` in which the emulator reports no traffic for ``deployment``."""
    minute = after_ms // 60_000
    while _noise(deployment, "gap", minute // 7) >= 0.06:
        minute += 1
    return minute * 60_000


@pytest.mark.parametrize("days", [7, 1, 1 / 24])
def test_a_summary_that_starts_in_a_quiet_minute_aggregates_the_whole_window(baseten, days):
    end_bound = 1_780_000_000_000
    start = quiet_minute("prod-v3", end_bound - 8 * DAY)
    end = start + int(days * DAY)
    summary = baseten.deployment_metrics("llama-chat", "prod-v3", METRIC_NAMES, mode="SUMMARY", start=start, end=end)
    series = baseten.deployment_metrics("llama-chat", "prod-v3", METRIC_NAMES, mode="SERIES", start=start, end=end)
    assert series_value("prod-v3", METRIC_NAMES[1], 0, start, 60) is None  # the window opens in a quiet minute
    (summary_set,) = summary["metric_values"]
    assert summary_set["start_epoch_millis"] == start
    for index, name in enumerate(METRIC_NAMES):
        per_step = [step["values"][index] for step in series["metric_values"]]
        starts = [step["start_epoch_millis"] for step in series["metric_values"]]
        step_ms = series["step_seconds"] * 1000
        weights = step_weights(range(starts[0], starts[-1] + step_ms, step_ms), start, end, end)
        for position, value in enumerate(summary_set["values"][index]):
            column = [step[position] for step in per_step if step[position] is not None]
            assert value is not None and math.isfinite(value), f"{name}[{position}] is empty over {days} days"
            if METRICS[name][0] == "COUNTER":  # a total over the window: its steps, each for its part inside it
                expected = math.fsum(s[position] * w for s, w in zip(per_step, weights, strict=True)
                                     if s[position] is not None)
                assert value == pytest.approx(expected, rel=1e-9, abs=1e-3)
            else:  # a level: between the lowest and highest step
                assert min(column) <= value <= max(column)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["COUNTER", "GAUGE", "HISTOGRAM"]),
       st.lists(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)), max_size=40))
def test_only_a_window_without_any_data_summarises_as_null(kind, values):
    value = summarize_window(kind, values)
    present = [v for v in values if v is not None]
    assert (value is None) == (not present)
    if present and kind != "COUNTER":
        assert min(present) - 1e-3 <= value <= max(present) + 1e-3


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**13), st.integers(60_000, 7 * DAY), st.integers(-8 * DAY, 8 * DAY),
       st.sampled_from([60, 300, 900, 3600]))
def test_steps_weigh_exactly_their_part_of_the_window_that_has_happened(start, length, now_offset, step):
    """A 1-minute window from :30 summed two whole minutes of requests; a window in the future summed traffic
    that never happened. The weights cover exactly the window's past, no more."""
    end, now, step_ms = start + length, start + now_offset, step * 1000
    starts = range(start - start % step_ms, end, step_ms)
    weights = step_weights(starts, start, end, now)
    assert all(0 <= w <= 1 for w in weights)
    covered = max(0, min(end, now) - start)
    assert math.fsum(w * step_ms for w in weights) == pytest.approx(covered, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["COUNTER", "GAUGE", "HISTOGRAM"]),
       st.lists(st.tuples(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
                          st.integers(0, 3_600_000).map(lambda ms: ms / 3_600_000)), max_size=40))  # ms of a step
def test_a_weighted_summary_is_a_part_counted_total_or_a_level_within_its_steps(kind, pairs):
    values, weights = [v for v, _ in pairs], [w for _, w in pairs]
    value = summarize_window(kind, values, weights)
    present = [(v, w) for v, w in pairs if v is not None and w > 0]
    assert (value is None) == (not present)
    if present and kind == "COUNTER":
        assert value == pytest.approx(math.fsum(v * w for v, w in present), abs=1e-3)
    elif present:
        assert min(v for v, _ in present) - 1e-3 <= value <= max(v for v, _ in present) + 1e-3


@pytest.mark.parametrize("offset_minutes", [1, 60 * 24])
def test_a_window_in_the_future_has_no_data(baseten, offset_minutes):
    import time

    start = int(time.time() * 1000) + offset_minutes * 60_000
    for mode in ("SUMMARY", "SERIES"):
        response = baseten.deployment_metrics("llama-chat", "prod-v3", METRIC_NAMES, mode=mode, start=start,
                                              end=start + 60_000)
        assert all(v is None for step in response["metric_values"] for metric in step["values"] for v in metric)


def test_a_one_minute_window_counts_one_minute(baseten):
    start = quiet_minute("prod-v3", 1_780_000_000_000 - DAY) - 3 * DAY + 30_000  # :30 past a minute, in the past
    name = "baseten_inference_requests_total"
    minute = [series_value("prod-v3", name, i, start - 30_000, 60) for i in range(3)]
    after = [series_value("prod-v3", name, i, start + 30_000, 60) for i in range(3)]
    summary = baseten.deployment_metrics("llama-chat", "prod-v3", [name], mode="SUMMARY", start=start, end=start + 60_000)
    for position, value in enumerate(summary["metric_values"][0]["values"][0]):
        halves = [v for v in (minute[position], after[position]) if v is not None]
        expected = math.fsum(v / 2 for v in halves) if halves else None
        assert value == (None if expected is None else pytest.approx(expected, abs=1e-3))
