"""The MetricsPanel driven from Python, and %baseten_metrics, against the sandbox."""

import base64
import threading

import pytest
from IPython.core.error import UsageError

from orqmagic.clients import BasetenClient
from orqmagic.widgets import MetricsPanel

PNG = b"\x89PNG"


@pytest.fixture
def panel(baseten):
    p = MetricsPanel(baseten=baseten)
    yield p
    p.close()


def test_pickers_are_filled_from_the_api(panel):
    assert [v for _, v in panel.model.options] == ["llama-chat", "embedder"]
    labels = [label for label, _ in panel.deployment.options]
    assert labels == ["v3 · ACTIVE · production", "v4-dev · SCALED_TO_ZERO"]
    assert panel.deployment.value == "prod-v3"
    assert panel.metrics.value == ("baseten_replicas_active", "baseten_inference_requests_total",
                                   "baseten_end_to_end_response_time_seconds")


def test_first_load_draws_the_plot_and_keeps_the_frame(panel):
    assert panel.error is None
    assert bytes(panel.plot.value).startswith(PNG)
    assert set(panel.df["metric"]) == set(panel.metrics.value)
    assert len(panel.figure.axes) == 3
    assert "<table" in panel.table.value
    assert panel.df.attrs["step_seconds"] == 900  # the default 24h window
    assert not panel.stale and "orqmagic-stale" not in panel.plot._dom_classes
    assert panel.stamp.value.startswith("<small>updated ") and panel.stamp.value.endswith(" UTC</small>")


def test_csv_is_built_only_when_asked(panel):
    assert panel.download.value == ""  # a refresh sends the plot, not megabytes of CSV
    panel.csv_button.click()
    assert "data:text/csv;base64," in panel.download.value and f"{len(panel.df):,} rows" in panel.download.value


def test_metric_picker_shows_readable_names_raw_on_hover_and_filters(panel):
    boxes = panel.metrics._boxes
    assert len(boxes) == 19 and all(box.layout.display is None for box in boxes.values())
    box = boxes["baseten_gpu_utilization"]
    assert box.description == "gpu utilization" and box.tooltip == "baseten_gpu_utilization"
    panel.metrics.filter.value = "gpu"
    shown = {name for name, b in boxes.items() if b.layout.display is None}
    assert shown == {"baseten_gpu_memory_used", "baseten_gpu_utilization", *panel.metrics.value}  # ticked stay visible
    box.value = True
    assert "baseten_gpu_utilization" in panel.metrics.value
    assert "4 of 19 selected" in panel.metrics.count.value


def test_a_control_change_marks_the_plot_stale_then_refreshes(panel):
    first = panel.updated
    panel.window.value = "6h"
    assert panel.stale and "orqmagic-stale" in panel.plot._dom_classes
    assert "controls changed" in panel.status.value and "the plot below is from" in panel.status.value
    assert panel.wait()  # the debounced refresh ran
    assert not panel.stale and panel.df.attrs["step_seconds"] == 300 and panel.updated > first
    assert "orqmagic-stale" not in panel.plot._dom_classes


def test_an_empty_selection_plots_nothing(panel, sandbox):
    mark = len(sandbox.requests())
    panel.metrics.value = ()
    assert panel.wait()
    assert panel.plot.layout.display == "none" and "no metrics selected" in panel.status.value and panel.stale
    assert not [r for r in sandbox.requests()[mark:] if r["path"].endswith("/metrics")]


def test_display_bundle_carries_a_small_snapshot_and_a_summary(panel):
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("MetricsPanel: llama-chat / prod-v3 · 3 metrics · 24h series · updated ")
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(PNG) and len(png) < 60_000


def test_changing_controls_and_clicking_refresh_redraws(panel):
    old_png = panel.plot.value
    panel.metrics.value = ("baseten_gpu_utilization",)
    panel.window.value = "7d"
    panel.refresh_button.click()
    assert panel.wait()
    assert set(panel.df["metric"]) == {"baseten_gpu_utilization"}
    assert panel.df.attrs["step_seconds"] == 3600
    assert len(panel.figure.axes) == 1 and bytes(panel.plot.value) != bytes(old_png)


def test_refreshing_the_same_metrics_redraws_the_same_figure_with_the_new_window(panel):
    figure, old_png = panel.figure, bytes(panel.plot.value)
    panel.window.value = "7d"  # the same panels, another window
    assert panel.wait()
    assert panel.figure is figure and panel.df.attrs["step_seconds"] == 3600
    low, high = panel.figure.axes[0].get_xlim()
    assert 7 <= high - low < 8  # days: the reused axes show the new window
    assert bytes(panel.plot.value).startswith(PNG) and bytes(panel.plot.value) != old_png
    panel.metrics.value = ("baseten_gpu_utilization",)
    assert panel.wait()
    assert panel.figure is not figure and len(panel.figure.axes) == 1


def test_model_change_reloads_deployments(panel):
    panel.model.value = "embedder"
    assert [v for _, v in panel.deployment.options] == ["emb-v1"]


def test_custom_range_and_modes(panel):
    panel.window.value = "custom"
    assert panel._custom.layout.display == "flex"
    panel.start.value, panel.end.value = "10d", ""
    panel.refresh(wait=True)
    assert panel.df.attrs["requests"] == 2 and panel.error is None
    panel.mode.value = "CURRENT"
    assert panel.window.disabled
    panel.refresh(wait=True)
    assert panel.df.attrs["mode"] == "CURRENT" and panel.df["time"].nunique() == 1


def test_errors_show_inside_the_panel_and_it_stays_usable(panel, sandbox):
    frame_before = panel.df
    panel.window.value = "custom"
    panel.start.value = "whenever"
    panel.refresh(wait=True)
    assert panel.error.startswith("start: cannot read 'whenever'") and "⚠" in panel.status.value
    assert panel.df is frame_before  # the frame stays, and the plot is visibly out of date
    assert panel.stale and "orqmagic-stale" in panel.plot._dom_classes and "the plot below is from" in panel.status.value
    assert "var(--jp-error-color1" in panel.status.value
    panel.window.value = "1h"
    sandbox.set_faults("status=503,match=/v1/models/llama-chat/deployments/prod-v3/metrics")
    panel.refresh(wait=True)
    assert "Baseten answered 503" in panel.error
    sandbox.set_faults(None)
    panel.refresh(wait=True)
    assert panel.error is None and panel.df.attrs["step_seconds"] == 60


def test_auth_and_network_errors_are_one_line(sandbox):
    bad = MetricsPanel(baseten=BasetenClient(base_url=sandbox.url, api_key="wrong"))
    assert bad.error == "Baseten answered 401: Invalid or missing API key"
    down = MetricsPanel(baseten=BasetenClient(base_url="http://127.0.0.1:9", api_key="k"))
    assert down.error.startswith("cannot reach Baseten at http://127.0.0.1:9")


def test_unknown_metric_error_in_panel(panel, baseten):
    panel.metrics.options = (*panel.metrics.options, "baseten_not_a_metric")
    panel.metrics.value = ("baseten_not_a_metric",)
    panel.refresh(wait=True)
    assert panel.error == "unknown Baseten metric 'baseten_not_a_metric'; pass strict=False to send it anyway"


def test_refreshes_during_a_fetch_do_not_pile_up(panel, sandbox):
    sandbox.set_faults("latency_ms=300,match=/v1/models/llama-chat/deployments/prod-v3/metrics")
    mark = len(sandbox.requests())
    clicks = [threading.Thread(target=panel.refresh) for _ in range(8)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    assert panel.wait()
    fetches = [r for r in sandbox.requests()[mark:] if r["path"].endswith("/metrics")]
    assert 1 <= len(fetches) <= 2, f"{len(fetches)} fetches for 8 quick clicks"


def test_export_csv(panel, tmp_path):
    path = panel.export_csv(str(tmp_path / "m.csv"))
    with open(path) as handle:
        assert handle.readline().startswith("time,metric,series")


def test_preselected_model_and_deployment(baseten):
    p = MetricsPanel("llama-chat", "dev-v4", baseten=baseten)
    assert p.deployment.value == "dev-v4" and p.df.attrs["deployment_id"] == "dev-v4"


def test_baseten_metrics_magic(ip, sandbox):
    ip.run_line_magic("baseten_metrics", "llama-chat prod-v3 --last 6h --metrics baseten_gpu_utilization -o df")
    df = ip.user_ns["df"]
    assert set(df["metric"]) == {"baseten_gpu_utilization"} and df.attrs["step_seconds"] == 300
    overview = ip.run_line_magic("baseten_metrics", "llama-chat prod-v3 --mode current --no-plot")
    assert overview.attrs["mode"] == "CURRENT"


def test_baseten_metrics_without_o_shows_an_overview_not_thousands_of_rows(ip, sandbox):
    overview = ip.run_line_magic("baseten_metrics", "llama-chat prod-v3 --last 7d --no-plot")
    assert list(overview.columns) == ["metric", "series", "unit", "last", "mean", "min", "max", "total",
                                      "steps_with_data", "steps"]
    assert len(overview) == 8  # one row per metric and series (the tidy frame has 1,352)
    latency = overview.set_index(["metric", "series"]).loc[("baseten_end_to_end_response_time_seconds", "p50")]
    assert latency["unit"] == "s" and latency["min"] <= latency["mean"] <= latency["max"] and latency["steps"] in (168, 169)
    requests = overview.set_index(["metric", "series"]).loc[("baseten_inference_requests_total", "2xx")]
    assert requests["unit"] == "count / step" and requests["total"] > requests["max"]


@pytest.mark.parametrize(("line", "message"), [
    ("llama-chat prod-v3 --last 2 weeks", "unrecognized arguments"),
    ("llama-chat prod-v3 --last fortnight", "cannot read"),
    ("llama-chat", "the following arguments are required"),
    ("llama-chat prod-v3 --mode summary --last 8d", "SUMMARY covers at most 7 days"),
])
def test_baseten_metrics_magic_bad_input(ip, sandbox, line, message):
    mark = len(sandbox.requests())
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("baseten_metrics", line)
    assert sandbox.requests()[mark:] == []


def test_auto_refresh_schedules_and_cancels(panel, sandbox):
    panel.auto_refresh.value = 30
    timer = panel._timer
    assert timer is not None and timer.is_alive() and timer.interval == 30
    mark = len(sandbox.requests())
    panel._auto_tick()  # what the timer does when it fires
    assert panel.wait()
    assert any(r["path"].endswith("/metrics") for r in sandbox.requests()[mark:])
    assert panel._timer is not timer and panel._timer.is_alive()  # scheduled again
    panel.auto_refresh.value = 0
    assert panel._timer is None
