"""Plots that tell the truth: rates for counters, lone points, no-data panels, transparency, bounded size."""

import io

import numpy as np
import pytest
from PIL import Image

import orqmagic
from orqmagic.clients.baseten import KNOWN_METRICS
from orqmagic.frames import build_frame, figure_png
from orqmagic.frames.plot import MAX_HEIGHT, counter_rate, isolated
from orqmagic.frames.png import figure_image

REQS = "baseten_inference_requests_total"


def fetch(baseten, metrics, **kwargs):
    return orqmagic.fetch_metrics("llama-chat", "prod-v3", list(metrics), baseten=baseten, **kwargs)


@pytest.mark.parametrize("window", ["1h", "24h", "14d"])
def test_counters_are_rates_so_every_window_reads_the_same(baseten, window):
    df = fetch(baseten, [REQS], start=window)
    fig = orqmagic.plot_metrics(df)
    assert fig.axes[0].get_ylabel() == "requests / min" and "rate" in fig.axes[0].get_title(loc="left")
    per_step = df.groupby("time", observed=True)["value"].sum().to_numpy(float)
    rate, label = counter_rate(REQS, per_step, df.attrs["step_seconds"])
    assert label == "requests / min"
    assert 15 < np.nanmedian(rate) < 60  # ~40 requests a minute in the sandbox, at 1 h as at 14 days


def test_counter_rate_units():
    assert counter_rate(REQS, np.array([600.0]), 60)[1] == "requests / s"
    values, label = counter_rate(REQS, np.array([30.0]), 60)
    assert label == "requests / min" and values[0] == pytest.approx(30.0)
    values, label = counter_rate("baseten_container_cpu_usage_seconds_total", np.array([120.0]), 60)
    assert label == "cores (CPU s/s)" and values[0] == pytest.approx(2.0)
    assert counter_rate("baseten_llm_output_tokens_total", np.array([6000.0]), 60)[1] == "tokens / s"


def lone_point_frame():
    values = [0.1, None, 0.5, None, 0.3, 0.4]
    return build_frame({
        "metric_descriptors": [{"name": "baseten_gpu_utilization", "unit_hint": "RATIO", "kind": "GAUGE",
                                "label_sets": [{}]}],
        "metric_values": [{"start_epoch_millis": 1_700_000_000_000 + i * 60_000, "values": [[v]]}
                          for i, v in enumerate(values)],
        "mode": "SERIES", "step_seconds": 60,
    })


def test_a_value_with_gaps_on_both_sides_is_drawn_as_a_dot():
    assert isolated(np.array([1.0, np.nan, 5.0, np.nan, 3.0, 4.0])).tolist() == [True, False, True, False, False, False]
    fig = orqmagic.plot_metrics(lone_point_frame())
    line, dots = fig.axes[0].get_lines()
    assert np.isnan(line.get_ydata().astype(float)).sum() == 2  # gaps stay gaps
    assert dots.get_marker() == "o" and dots.get_ydata().tolist() == pytest.approx([10.0, 50.0])


def test_current_and_summary_are_labelled_bars_and_no_data_says_so(baseten):
    fig = orqmagic.plot_metrics(fetch(baseten, ["baseten_end_to_end_response_time_seconds"], mode="CURRENT"))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert len(ax.patches) == 4 and len(labels) == 4 and all(labels)
    assert ax.get_xlim()[1] > max(p.get_width() for p in ax.patches)  # labels fit inside the frame
    empty = lone_point_frame()
    empty["value"] = np.nan
    fig = orqmagic.plot_metrics(empty)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no data"]


def test_legends_sit_outside_the_data(baseten):
    fig = orqmagic.plot_metrics(fetch(baseten, [REQS, "baseten_end_to_end_response_time_seconds"], start="24h"))
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).x0 >= 1.0


def test_figures_are_transparent_with_mid_grey_text(baseten):
    fig = orqmagic.plot_metrics(fetch(baseten, [REQS], start="6h"))
    assert fig.patch.get_facecolor()[3] == 0 and fig.axes[0].patch.get_facecolor()[3] == 0
    image = Image.open(io.BytesIO(figure_png(fig))).convert("RGBA")
    assert image.getpixel((2, 2))[3] == 0  # the background lets the page's theme through
    r, g, b, _ = (int(v * 255) for v in __import__("matplotlib.colors").colors.to_rgba(fig.axes[0].title.get_color()))
    assert 100 <= r == g == b <= 170


def test_many_metrics_stay_bounded_and_readable(baseten):
    df = fetch(baseten, KNOWN_METRICS, start="14d")
    fig = orqmagic.plot_metrics(df, KNOWN_METRICS)  # the two async metrics: this deployment has none
    width, height = fig.get_size_inches()
    assert height <= MAX_HEIGHT and width <= 12
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 19 and len({round(ax.get_position().x0, 2) for ax in visible}) == 2  # a two-column grid
    assert len(figure_png(fig)) < 250_000
    no_data = [ax.get_title(loc="left") for ax in visible if [t.get_text() for t in ax.texts] == ["no data"]]
    assert no_data == ["async queue size", "time in async queue seconds"]


def test_plot_batch_is_readable(sandbox_env):
    rows = [{"topic": f"t{i}"} for i in range(12)]
    results = orqmagic.invoke_many("support-bot", rows, prompt="{{topic}}", progress=False)
    fig = orqmagic.plot_batch(results)
    latency, ttft, scatter = fig.axes
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "how long each row took", "how long until the first token", "do longer answers take longer?"]
    assert latency.get_ylabel() == ttft.get_ylabel() == "rows (count)"  # what is counted, said on the axis
    assert scatter.get_xlabel() == "completion tokens (per row)"
    for ax, column in ((latency, "latency_ms"), (ttft, "ttft_ms")):
        marks = [line for line in ax.get_lines() if line.get_label().startswith("p")]
        assert [m.get_label().split()[0] for m in marks] == ["p50", "p90", "p99"] and len({m.get_color() for m in marks}) == 3
        tallest = max(patch.get_height() for patch in ax.patches)
        assert all(m.get_ydata()[0] > tallest and m.get_linestyle() == "None" for m in marks)  # above the bars, not through
        assert np.allclose([m.get_xdata()[0] for m in marks], results[column].quantile([0.5, 0.9, 0.99]))
        assert np.allclose(ax.get_yticks(), np.round(ax.get_yticks()))  # whole rows
    for ax in fig.axes:
        assert ax.get_xlim()[0] == 0 and ax.get_ylim()[0] == 0  # no zoom that makes a 1 % spread look wide


def test_plot_batch_shows_a_narrow_spread_as_narrow():
    import pandas as pd

    rows = 90
    results = pd.DataFrame({"latency_ms": np.linspace(3820, 3860, rows), "ttft_ms": np.linspace(200, 260, rows),
                            "completion_tokens": [96] * rows, "error": [None] * rows})
    latency, _, scatter = orqmagic.plot_batch(results).axes
    assert latency.get_legend().get_title().get_text() == "90 rows from 3,820 to 3,860 ms (spread 1% of the longest)"
    assert scatter.get_ylim()[0] == 0 and scatter.get_ylim()[1] < 3860 * 1.2


def panel_state(fig):
    """What a reader sees of each panel: title, unit, limits, lines' data, stacked bands."""
    state = []
    for ax in fig.axes:
        lines = [(line.get_label(), np.asarray(line.get_xdata(), dtype="datetime64[ns]").tolist(),
                  [None if np.isnan(v) else round(v, 9) for v in np.asarray(line.get_ydata(), dtype=float)])
                 for line in ax.get_lines()]
        state.append((ax.get_title(loc="left"), ax.get_ylabel(), np.round(ax.get_xlim(), 9).tolist(),
                      np.round(ax.get_ylim(), 9).tolist(), len(ax.collections), lines,
                      [t.get_text() for t in ax.get_xticklabels()]))
    return state


def test_a_refresh_of_the_same_metrics_updates_the_figure_in_place(baseten):
    metrics = [REQS, "baseten_end_to_end_response_time_seconds", "baseten_gpu_utilization", "baseten_async_queue_size"]
    day, week = fetch(baseten, metrics, start="24h"), fetch(baseten, metrics, start="7d")
    fig = orqmagic.plot_metrics(day, metrics)
    reused = orqmagic.plot_metrics(week, metrics, reuse=fig)
    assert reused is fig  # same panels: new data in the same axes, no new figure
    fresh = orqmagic.plot_metrics(week, metrics)
    assert panel_state(reused) == panel_state(fresh)  # exactly what a new figure of that data shows
    assert fig._suptitle.get_text() == fresh._suptitle.get_text() and "7 days" in fig._suptitle.get_text()
    assert fig.axes[0].get_ylim()[0] == 0  # stacked bands still start at zero
    full = io.BytesIO()
    fresh.savefig(full, format="png", dpi=80, transparent=True)  # a plain, complete draw
    # the reused figure redraws only what changes over a cached picture of the rest: the same pixels
    assert np.array_equal(np.asarray(figure_image(reused)), np.asarray(Image.open(full).convert("RGBA")))
    other = orqmagic.plot_metrics(week, metrics[:2], reuse=fig)
    assert other is not fig and len(other.axes) == 2  # other panels: a new figure
