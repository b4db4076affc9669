"""The sandbox's Baseten SUMMARY aggregates the whole window, as the metrics document says.

It used to read one sample at the window's start, so a window opening in a quiet minute
(no traffic, so no counts or latencies) summarised a whole week as NaN.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.sandbox.baseten import METRICS, _noise, series_value, summarize_window

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
        for position, value in enumerate(summary_set["values"][index]):
            column = [step[position] for step in per_step if step[position] is not None]
            assert value is not None and math.isfinite(value), f"{name}[{position}] is empty over {days} days"
            if METRICS[name][0] == "COUNTER":  # a total over the window: the sum of its steps
                assert value == pytest.approx(math.fsum(column), rel=1e-9)
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
