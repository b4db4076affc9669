"""``MetricsPanel``: pick a Baseten model, deployment, metrics and window; see the plot and the numbers.

The panel is a thin layer over :func:`orqmagic.fetch_metrics` and
:func:`orqmagic.plot_metrics`, and it always shows its state: a control change
greys the plot out as stale and refreshes after a short pause; an error leaves
the old plot greyed out, never looking current; every plot carries the time it
was fetched. When fetches run is :class:`~orqmagic.widgets.refresher.Refresher`'s
business (background thread, coalesced clicks, debounce, auto refresh). The plot is
SVG, crisp and legible at any width, its panels in the order the metrics were ticked.
Where no widget can render (GitHub, a notebook opened without its kernel) the saved
output (:mod:`~orqmagic.widgets.snapshot`) shows the panel as last refreshed: its
one-line summary, the selection and a small PNG of the plot.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..clients.baseten import DEFAULT_METRICS, KNOWN_METRICS
from ..errors import OrqMagicError
from ..render.theme import MARK, label_html, status_html
from .metric_picker import MetricPicker
from .refresher import Refresher
from .snapshot import SavedOutput, snapshot_png

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..clients import BasetenClient

WINDOWS = ("1h", "6h", "24h", "7d", "14d", "custom")
AUTO_REFRESH = (("off", 0), ("30 s", 30), ("1 min", 60), ("5 min", 300))
DEBOUNCE_SECONDS = 0.8
# The plot is SVG and its width follows the output, up to PLOT_MAX_WIDTH
PLOT_INCHES = {1: 7.0, 2: 8.0}  # figure width by panel columns: 9 pt text is ~10 px in a 660 px output
PLOT_MAX_WIDTH = "1100px"
LABEL = {"description_width": "80px"}
STYLE = """<style>
.orqmagic-stale { opacity: 0.35; filter: grayscale(1); transition: opacity 0.2s; }
.orqmagic-panel .widget-label, .orqmagic-panel .widget-html-content { line-height: 1.4; }
</style>"""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class MetricsPanel(SavedOutput, w.VBox):
    """Baseten deployment metrics in a panel. ``panel.df`` is the frame behind the current plot;
    ``panel.stale`` says whether the plot still matches the controls."""

    def __init__(self, model_id: str | None = None, deployment_id: str | None = None, *,
                 metrics: tuple[str, ...] = DEFAULT_METRICS, window: str = "24h", mode: str = "SERIES",
                 baseten: BasetenClient | None = None, autoload: bool = True) -> None:
        self._baseten = baseten
        self.df: pd.DataFrame | None = None
        self.figure: Figure | None = None
        self.error: str | None = None
        self.stale = True
        self.updated: dt.datetime | None = None
        self.shown_query: dict[str, Any] | None = None  # the query behind the plot on screen
        self._snapshot: tuple[dt.datetime, bytes] | None = None  # (updated, PNG) for the saved notebook, made on demand
        self._refresher = Refresher(self._fetch_once, name="orqmagic-metrics-panel")
        self._pending_deployment: str | None = None  # to select once the model's deployments are loaded

        self.model = w.Dropdown(description="Model", options=[], style=LABEL, layout=w.Layout(width="330px"))
        self.deployment = w.Dropdown(description="Deployment", options=[], style=LABEL, layout=w.Layout(width="380px"))
        self.metrics = MetricPicker(tuple(KNOWN_METRICS), tuple(metrics))
        self.mode = w.ToggleButtons(options=("SERIES", "SUMMARY", "CURRENT"), value=mode,
                                    style={"button_width": "92px"},
                                    tooltips=("over time", "one value per series for the window", "now"))
        self.window = w.Dropdown(options=WINDOWS, value=window, description="Window", style={"description_width": "56px"},
                                 layout=w.Layout(width="150px"))
        self.start = w.Text(description="From", placeholder="2026-11-20 08:00 or 36h", style=LABEL,
                            layout=w.Layout(width="280px"), continuous_update=False)
        self.end = w.Text(description="To", placeholder="now", style={"description_width": "30px"},
                          layout=w.Layout(width="230px"), continuous_update=False)
        self.auto_refresh = w.Dropdown(options=AUTO_REFRESH, value=0, description="Auto", style={"description_width": "40px"},
                                       layout=w.Layout(width="130px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh", button_style="primary",
                                       layout=w.Layout(width="110px"))
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="120px", visibility="hidden"))
        self.status = w.HTML(layout=w.Layout(flex="1 1 300px"))
        self.stamp = w.HTML()
        self.plot = w.Image(format="svg+xml", layout=w.Layout(width="100%", max_width=PLOT_MAX_WIDTH, height="auto",
                                                              margin="2px 0"))  # no side margin: 100% fits
        self.table = w.HTML()
        self.csv_button = w.Button(description="Download CSV", icon="download", tooltip="build the CSV of panel.df",
                                   layout=w.Layout(width="150px"))
        self.download = w.HTML()
        custom = w.HBox([self.start, self.end], layout=w.Layout(display="none", flex_flow="row wrap"))
        self._custom = custom

        self.model.observe(self._on_model, names="value")
        self.window.observe(self._on_window, names="value")
        self.mode.observe(self._on_window, names="value")
        self.auto_refresh.observe(self._on_auto, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.csv_button.on_click(lambda _: self.prepare_csv())

        row = {"flex_flow": "row wrap", "align_items": "center"}
        super().__init__([
            w.HTML(STYLE),
            w.HBox([self.model, self.deployment], layout=w.Layout(**row)),
            self.metrics,
            w.HBox([w.HTML(label_html("Mode"), layout=w.Layout(width="86px")), self.mode, self.window, self.auto_refresh],
                   layout=w.Layout(**row)),
            custom,
            w.HBox([self.refresh_button, self.progress, self.status, self.stamp], layout=w.Layout(**row)),
            self.plot,
            w.Accordion([w.VBox([self.table, w.HBox([self.csv_button, self.download], layout=w.Layout(**row))])],
                        titles=("Data",), selected_index=None),
        ], layout=w.Layout(max_width="100%"))
        self.add_class("orqmagic-panel")
        if autoload:
            self.load_models(model_id, deployment_id)
            if self.deployment.value:
                self.refresh(wait=True)
        for control in (self.deployment, self.metrics, self.mode, self.window, self.start, self.end):
            control.observe(self._on_control, names="value")

    # -- pickers ---------------------------------------------------------------------

    def _client(self) -> BasetenClient:
        if self._baseten is None:
            from ..api import client

            self._baseten = client("baseten")
        return self._baseten

    def load_models(self, model_id: str | None = None, deployment_id: str | None = None) -> None:
        """Fill the model picker from ``GET /v1/models`` (and select ``model_id``)."""
        try:
            models = self._client().list_models()
        except OrqMagicError as exc:
            self._show_error(exc)
            return
        self._pending_deployment = deployment_id
        options = [(f"{m.get('name') or m['id']} ({m['id']})", m["id"]) for m in models]
        ids = [m["id"] for m in models]
        self.model.options = options
        chosen = model_id if model_id in ids else (ids[0] if ids else None)
        if model_id and model_id not in ids:
            self._show_error(f"model {model_id!r} not found; showing {chosen}")
        if chosen is not None:
            if self.model.value == chosen:
                self._on_model({"new": chosen})
            else:
                self.model.value = chosen

    def _on_model(self, change: dict[str, Any]) -> None:
        model_id = change["new"]
        if not model_id:
            return
        try:
            deployments = self._client().list_deployments(model_id)
        except OrqMagicError as exc:
            self._show_error(exc)
            self.deployment.options = []
            return
        self.deployment.options = [
            (f"{d.get('name') or d['id']} · {d.get('status', '?')}" + (" · production" if d.get("is_production") else ""), d["id"])
            for d in deployments
        ]
        wanted = self._pending_deployment
        ids = [d["id"] for d in deployments]
        production = next((d["id"] for d in deployments if d.get("is_production")), ids[0] if ids else None)
        self.deployment.value = wanted if wanted in ids else production
        self._pending_deployment = None

    def _on_window(self, change: dict[str, Any]) -> None:
        custom = self.window.value == "custom" and self.mode.value != "CURRENT"
        self._custom.layout.display = "flex" if custom else "none"
        self.window.disabled = self.mode.value == "CURRENT"

    def _on_control(self, change: dict[str, Any]) -> None:
        """A control changed: the plot no longer matches it. Grey it out and refresh after a pause."""
        self._mark_stale("controls changed: refreshing…")
        self._refresher.later(DEBOUNCE_SECONDS)

    def _on_auto(self, change: dict[str, Any]) -> None:
        self._refresher.every(self.auto_refresh.value)

    def close(self) -> None:
        self._refresher.close()
        super().close()

    # -- fetching ----------------------------------------------------------------------

    def query(self) -> dict[str, Any]:
        """The arguments of the next fetch, read from the controls."""
        mode = self.mode.value
        query: dict[str, Any] = {"model_id": self.model.value, "deployment_id": self.deployment.value,
                                 "metrics": list(self.metrics.value), "mode": mode}
        if mode != "CURRENT":
            if self.window.value == "custom":
                query["start"] = self.start.value.strip() or None
                query["end"] = self.end.value.strip() or None
            else:
                query["start"] = self.window.value
        return query

    def refresh(self, wait: bool = False) -> None:
        """Fetch and redraw. While a fetch runs, further calls coalesce into one more run."""
        self._refresher.now(wait=wait)

    def wait(self, timeout: float | None = 60) -> bool:
        """Block until no refresh is due or running (for scripts and tests)."""
        return self._refresher.wait(timeout)

    def _fetch_once(self) -> None:
        from ..frames import fetch_metrics, plot_metrics
        from ..frames.svg import figure_svg

        query = self.query()
        if not query["model_id"] or not query["deployment_id"]:
            self._show_error("pick a model and a deployment first")
            return
        if not query["metrics"]:
            self._clear("no metrics selected: tick one or more above")
            return
        self.refresh_button.disabled = True
        self.progress.bar_style, self.progress.max, self.progress.value = "info", 1, 0
        self.progress.layout.visibility = "visible"
        self.status.value = "<i>fetching…</i>"
        started = dt.datetime.now(dt.timezone.utc)

        def progress(done: int, total: int) -> None:
            self.progress.max, self.progress.value = total + 1, done  # the last part is drawing
            self.status.value = f"<i>fetched {done} of {total} · {'drawing…' if done == total else 'fetching…'}</i>"

        try:
            frame = fetch_metrics(**query, baseten=self._client(), on_progress=progress)
            # asked-for metrics without data say so; the same panels as last time are updated in place
            columns = 1 if len(query["metrics"]) <= 3 else 2
            figure = plot_metrics(frame, query["metrics"], reuse=self.figure, width=PLOT_INCHES[columns])
            svg = figure_svg(figure)
        except (OrqMagicError, ValueError) as exc:
            self._show_error(exc)
            return
        finally:
            self.refresh_button.disabled = False
            self.progress.layout.visibility = "hidden"
        seconds = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
        self.df, self.figure, self.error, self.updated, self.stale = frame, figure, None, started, False
        self.shown_query = query
        self.plot.remove_class("orqmagic-stale")
        self.plot.layout.display = None
        self.plot.value = svg  # the new plot is on screen from here; the rest is the numbers and the snapshot
        self.table.value = frame.head(12).to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—")
        self.download.value = ""  # the CSV is built on request (Download CSV), not on every refresh
        self.status.value = (f"{frame['metric'].nunique()} metrics · {frame['time'].nunique()} steps · "
                             f"{len(frame):,} rows · {seconds:.1f} s")
        self.stamp.value = f"<small>updated {started:%H:%M:%S} UTC</small>"
        self.settled()

    def _mark_stale(self, message: str, kind: str | None = None) -> None:
        self.stale = True
        if self.plot.value:
            self.plot.add_class("orqmagic-stale")
        when = f" (the plot below is from {self.updated:%H:%M:%S} UTC)" if self.updated and self.plot.value else ""
        self.status.value = status_html(kind, f"{message}{when}") if kind else f"<i>{html.escape(message + when)}</i>"

    def _clear(self, message: str) -> None:
        """Nothing to show: no plot, no table, no CSV; ``panel.df`` is None until the next fetch."""
        self.stale, self.error = True, None
        self.df, self.shown_query, self.updated = None, None, None
        self.plot.layout.display = "none"
        self.table.value = ""
        self.download.value = ""
        self.status.value = f"<i>{html.escape(message)}</i>"
        self.stamp.value = ""
        self.settled()

    def _show_error(self, error: BaseException | str) -> None:
        self.error = error if isinstance(error, str) else _one_line(error)
        self._mark_stale(f"{MARK['error']} {self.error}", kind="error")
        self.settled()

    # -- the saved notebook -------------------------------------------------------------------

    def summary(self) -> str:
        """One line: what the plot shows and when it was fetched (the saved notebook's text)."""
        query = self.shown_query or self.query()
        where = f"{query['model_id']} / {query['deployment_id']}"
        if self.df is None:
            nothing = "no metrics selected" if not self.metrics.value else "nothing fetched yet"
            return f"MetricsPanel: {where} · {self.error or nothing}"
        window = "now" if query["mode"] == "CURRENT" else f"{query.get('start') or 'custom'} {query['mode'].lower()}"
        updated = f" · updated {self.updated:%Y-%m-%d %H:%M:%S} UTC" if self.updated else ""
        problem = f" · {self.error} (the plot is from before)" if self.error else ""
        return f"MetricsPanel: {where} · {self.df['metric'].nunique()} metrics · {window}{updated}{problem}"

    def static_html(self) -> str:
        """The summary, then the metrics plotted (in the panels' order) and the numbers' size."""
        kind = "error" if self.error else None
        line = html.escape(self.summary())
        parts = [status_html(kind, self.summary()) if kind else f"<b>{line}</b>"]
        if self.df is not None and self.shown_query is not None:
            from ..frames.units import pretty_metric

            names = ", ".join(html.escape(pretty_metric(m)) for m in self.shown_query["metrics"])
            parts.append(f"<br><small>metrics: {names} · {len(self.df):,} rows</small>")
        return "".join(parts)

    def static_png(self) -> bytes | None:
        """A small PNG of the plot on screen, made once per refresh and only when the panel is displayed."""
        if self.df is None or self.figure is None or self.updated is None or self.plot.layout.display == "none":
            return None
        if self._snapshot is None or self._snapshot[0] != self.updated:
            from ..frames.png import figure_image

            self._snapshot = (self.updated, snapshot_png(figure_image(self.figure)))
        return self._snapshot[1]

    @property
    def snapshot(self) -> bytes | None:
        """The PNG the saved notebook shows of the current plot (None without one)."""
        return self.static_png()

    # -- data out ---------------------------------------------------------------------------

    def prepare_csv(self) -> str:
        """Build the CSV of ``panel.df`` now (only when asked: it can be megabytes) and offer it as a link."""
        if self.df is None:
            self.download.value = status_html("error", "nothing fetched yet")
            return ""
        query = self.query()
        csv = self.df.to_csv(index=False).encode()
        name = f"baseten-{query['model_id']}-{query['deployment_id']}-{self.updated:%Y%m%d-%H%M%S}.csv"
        self.download.value = (f'<a download="{html.escape(name)}" href="data:text/csv;base64,{base64.b64encode(csv).decode()}">'
                               f"{MARK['download']} save {html.escape(name)} ({len(self.df):,} rows, {len(csv) / 1024:,.0f} KB)</a>")
        return name

    def export_csv(self, path: str) -> str:
        """Write ``panel.df`` to ``path`` as CSV and return the path."""
        if self.df is None:
            raise ValueError("nothing fetched yet: press Refresh first")
        self.df.to_csv(path, index=False)
        return path
