"""Baseten metrics into tidy frames and plots, against the sandbox over HTTP."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import orqmagic
from orqmagic import ValidationError
from orqmagic.frames import MetricsFormatError, build_frame, series_name, wide_metrics
from orqmagic.render.theme import AVG

HIST = "baseten_end_to_end_response_time_seconds"
REQS = "baseten_inference_requests_total"
GPU = "baseten_gpu_utilization"


def fetch(baseten, metrics=(HIST, REQS, GPU), **kwargs):
    return orqmagic.fetch_metrics("llama-chat", "prod-v3", list(metrics), baseten=baseten, **kwargs)


def test_tidy_columns_and_attrs(baseten):
    df = fetch(baseten, start="1h")
    columns = list(df.columns)
    assert columns[:3] == ["time", "metric", "series"] and columns[-3:] == ["value", "unit", "kind"]
    assert set(columns[3:-3]) == {"status", "quantile", "stat"}  # one column per label key
    assert str(df["time"].dt.tz) == "UTC"
    assert df.attrs["mode"] == "SERIES" and df.attrs["step_seconds"] == 60
    assert (df.attrs["model_id"], df.attrs["deployment_id"]) == ("llama-chat", "prod-v3")
    assert df.attrs["window"][1] - df.attrs["window"][0] == pd.Timedelta(hours=1)
    hist = df[df["metric"] == HIST]
    assert set(hist["series"]) == {"p50", "p90", "p99", "avg"}
    assert set(hist["quantile"].dropna()) == {"0.5", "0.9", "0.99"} and set(hist["stat"].dropna()) == {"avg"}
    assert set(df[df["metric"] == REQS]["series"]) == {"2xx", "4xx", "5xx"}
    assert set(df[df["metric"] == GPU]["series"]) == {"value"}
    assert set(hist["unit"]) == {"SECONDS"} and set(hist["kind"]) == {"HISTOGRAM"}


def test_one_row_per_time_metric_series(baseten):
    df = fetch(baseten, start="24h")
    assert not df.duplicated(["time", "metric", "series"]).any()
    steps = df["time"].nunique()
    assert len(df) == steps * (4 + 3 + 1)


def test_values_match_the_raw_response(baseten):
    end = pd.Timestamp.now(tz="UTC").floor("h")
    raw = baseten.deployment_metrics("llama-chat", "prod-v3", [HIST], mode="SERIES",
                                     start=int((end - pd.Timedelta(hours=1)).timestamp() * 1000), end=int(end.timestamp() * 1000))
    df = build_frame(raw)
    first = raw["metric_values"][0]
    got = df[df["time"] == df["time"].min()].set_index("series")["value"]
    expected = first["values"][0]
    for series, value in zip(["p50", "p90", "p99", "avg"], expected, strict=True):
        assert (np.isnan(got[series]) and value is None) or got[series] == value


def test_nulls_become_nan(baseten):
    df = fetch(baseten, start="7d")
    assert df["value"].isna().any() and df["value"].notna().any()


@pytest.mark.parametrize(("window", "step", "requests"), [("1h", 60, 1), ("24h", 900, 1), ("7d", 3600, 1), ("10d", 3600, 2)])
def test_windows_and_seams(baseten, window, step, requests):
    df = fetch(baseten, start=window)
    assert df.attrs["requests"] == requests and df.attrs["step_seconds"] == step
    times = pd.Series(sorted(df["time"].unique()))
    assert (times.diff().dropna() == pd.Timedelta(seconds=step)).all(), "a step is missing or repeated at a seam"
    span = df.attrs["window"][1] - df.attrs["window"][0]
    assert abs((times.iloc[-1] - times.iloc[0]) - span) <= pd.Timedelta(seconds=step)


def test_stitched_window_agrees_with_direct_requests(baseten):
    end = pd.Timestamp.now(tz="UTC").floor("h")
    stitched = fetch(baseten, [HIST], start=end - pd.Timedelta(days=10), end=end)
    recent = fetch(baseten, [HIST], start=end - pd.Timedelta(days=5), end=end)
    merged = stitched.merge(recent, on=["time", "series"], suffixes=("", "_direct"))
    assert len(merged) == len(recent)
    assert np.allclose(merged["value"], merged["value_direct"], equal_nan=True)


def test_summary_and_current(baseten):
    summary = fetch(baseten, mode="SUMMARY", start="24h")
    assert summary["time"].nunique() == 1 and summary.attrs["step_seconds"] is None
    current = fetch(baseten, mode="CURRENT")
    assert current["time"].nunique() == 1 and current.attrs["mode"] == "CURRENT"


def test_time_forms(baseten):
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for start in (end - dt.timedelta(hours=2), pd.Timestamp(end) - pd.Timedelta(hours=2),
                  int((end - dt.timedelta(hours=2)).timestamp() * 1000), (end - dt.timedelta(hours=2)).isoformat()):
        df = fetch(baseten, [GPU], start=start, end=end)
        assert df.attrs["window"] == (pd.Timestamp(end - dt.timedelta(hours=2)), pd.Timestamp(end))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "CURRENT", "start": "1h"}, "CURRENT mode is a snapshot"),
     ({"start": "2h", "end": "3h"}, "end must be after start"),
     ({"mode": "SUMMARY", "start": "8d"}, "SUMMARY covers at most 7 days"),
     ({"start": "yesterday-ish"}, "cannot read"),
     ({"mode": "WEEKLY"}, "mode must be one of")],
)
def test_bad_windows_fail_before_sending(baseten, sandbox, kwargs, message):
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError, match=message):
        fetch(baseten, **kwargs)
    assert sandbox.requests()[mark:] == []


def test_unknown_metric_is_a_clear_error_before_sending(baseten, sandbox):
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError, match="unknown Baseten metric 'baseten_gpu_utilisation'; did you mean baseten_gpu_utilization"):
        fetch(baseten, ["baseten_gpu_utilisation"])
    assert sandbox.requests()[mark:] == []


def test_unknown_metric_sent_anyway_is_rejected_by_the_server(baseten):
    with pytest.raises(orqmagic.BadRequestError, match="Unknown metric names: baseten_bogus"):
        fetch(baseten, ["baseten_bogus"], strict=False)


def test_wide_form(baseten):
    df = fetch(baseten, start="1h")
    wide = wide_metrics(df)
    assert wide.index.name == "time" and wide.index.is_monotonic_increasing
    assert f"{HIST}_p99" in wide.columns and GPU in wide.columns and f"{REQS}_5xx" in wide.columns  # snake_case
    assert wide.shape == (df["time"].nunique(), 8)


def test_unknown_units_and_kinds_pass_through():
    raw = {"start_epoch_millis": 0, "end_epoch_millis": 120_000, "mode": "SERIES", "step_seconds": 60,
           "metric_descriptors": [{"name": "gpu_temp", "unit_hint": "CELSIUS", "kind": "THERMAL", "label_sets": [{"gpu": "0"}, {"gpu": "1"}]}],
           "metric_values": [{"start_epoch_millis": 0, "values": [[40.0, None]]}, {"start_epoch_millis": 60_000, "values": [[41.0, 43.5]]}]}
    df = build_frame(raw)
    assert set(df["unit"]) == {"CELSIUS"} and set(df["kind"]) == {"THERMAL"}
    assert list(df["series"]) == ["gpu=0", "gpu=1", "gpu=0", "gpu=1"] and list(df["gpu"]) == ["0", "1", "0", "1"]
    fig = orqmagic.plot_metrics(df)
    assert fig.axes[0].get_ylabel() == "°C"


def test_series_names():
    assert [series_name(x) for x in ({}, {"quantile": "0.5"}, {"quantile": "0.999"}, {"stat": "avg"}, {"status": "2xx"})] == [
        "value", "p50", "p99.9", "avg", "2xx"]


@pytest.mark.parametrize(
    "raw",
    [{"metric_values": []},
     {"metric_descriptors": [{"name": "a", "label_sets": []}], "metric_values": []},
     {"metric_descriptors": [{"name": "a", "label_sets": [{}]}], "metric_values": [{"start_epoch_millis": 0, "values": [[1, 2]]}]},
     {"metric_descriptors": [{"name": "a", "label_sets": [{}]}], "metric_values": [{"start_epoch_millis": 0, "values": [["x"]]}]},
     {"metric_descriptors": [{"name": "a", "label_sets": [{}]}], "metric_values": [{"values": [[1]]}]}],
)
def test_malformed_layouts_raise_a_typed_error(raw):
    with pytest.raises(MetricsFormatError):
        build_frame(raw)


@st.composite
def responses(draw):
    widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    steps = draw(st.integers(0, 6))
    value = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=32))
    descriptors = [{"name": f"m{i}", "unit_hint": "COUNT", "kind": "GAUGE", "label_sets": [{"k": str(j)} for j in range(n)]}
                   for i, n in enumerate(widths)]
    values = [{"start_epoch_millis": t * 60_000, "values": [draw(st.lists(value, min_size=n, max_size=n)) for n in widths]}
              for t in range(steps)]
    return {"mode": "SERIES", "step_seconds": 60, "start_epoch_millis": 0, "end_epoch_millis": steps * 60_000,
            "metric_descriptors": descriptors, "metric_values": values}


@given(responses())
def test_any_valid_layout_converts_losslessly(raw):
    df = build_frame(raw)
    expected = [v for vs in raw["metric_values"] for metric in vs["values"] for v in metric]
    assert len(df) == len(expected)
    got = df["value"].tolist()
    assert all((e is None and np.isnan(g)) or e == g for e, g in zip(expected, got, strict=True))


@given(responses(), st.data())
def test_any_broken_layout_raises_a_typed_error(raw, data):
    if not raw["metric_values"]:
        return
    victim = data.draw(st.integers(0, len(raw["metric_values"]) - 1))
    raw["metric_values"][victim]["values"][0].append(1.0)
    with pytest.raises(MetricsFormatError):
        build_frame(raw)


def test_plot_has_a_panel_per_metric_and_the_right_lines(baseten):
    df = fetch(baseten, start="24h")
    fig = orqmagic.plot_metrics(df)
    axes = fig.axes
    assert len(axes) == 3
    hist_ax = next(a for a in axes if "end to end response time" in a.get_title(loc="left"))
    lines = [line for line in hist_ax.get_lines() if not line.get_label().startswith("_")]  # not the lone-point dots
    assert [line.get_label() for line in lines] == ["p50", "p90", "p99", "avg"]
    avg = lines[3]
    assert avg.get_linestyle() == "--" and avg.get_color() == AVG  # a grey that reads on light and dark
    assert hist_ax.get_ylabel() in ("ms", "s")
    requests_ax = next(a for a in axes if "inference requests" in a.get_title(loc="left"))
    assert len(requests_ax.collections) == 3  # stacked 2xx/4xx/5xx bands
    assert requests_ax.get_ylabel() in ("requests / s", "requests / min")  # a counter reads as a rate
    gpu_ax = next(a for a in axes if "gpu utilization" in a.get_title(loc="left"))
    assert gpu_ax.get_ylabel() == "%"
    assert "llama-chat / prod-v3" in fig._suptitle.get_text()


def test_plot_unstacked_counters_and_gaps(baseten):
    df = fetch(baseten, [REQS], start="7d")
    fig = orqmagic.plot_metrics(df, stacked=False)
    lines = [line for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == ["2xx", "4xx", "5xx"]
    assert np.isnan(lines[0].get_ydata().astype(float)).any(), "nulls should stay gaps in the line"


def test_plot_summary_as_bars(baseten):
    fig = orqmagic.plot_metrics(fetch(baseten, mode="SUMMARY", start="6h"))
    for ax in fig.axes:  # labelled bars, or a panel that says there is nothing to show
        assert len(ax.patches) > 0 or [t.get_text() for t in ax.texts] == ["no data"]
    assert any(len(ax.patches) > 0 for ax in fig.axes)


def test_unit_scaling():
    from orqmagic.frames.plot import scale_for

    assert scale_for("SECONDS", np.array([0.2, 0.4])) == (1000.0, "ms")
    assert scale_for("SECONDS", np.array([2.0])) == (1.0, "s")
    assert scale_for("BYTES", np.array([3_500_000.0]))[1] == "MiB"
    assert scale_for("MEBIBYTES", np.array([20_000.0]))[1] == "GiB"
    assert scale_for("RATIO", np.array([0.3])) == (100.0, "%")
    assert scale_for("RATIO", np.array([3.0])) == (1.0, "ratio")
    assert scale_for("WATTS", np.array([300.0])) == (1.0, "W")
