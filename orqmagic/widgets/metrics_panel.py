"""``MetricsPanel``: pick a Baseten model, deployment, metrics and window; see the plot and the numbers.

The panel is a thin layer over :func:`orqmagic.fetch_metrics` and
:func:`orqmagic.plot_metrics`. Fetches run in a background thread so the
notebook stays responsive; a refresh asked for while one runs is coalesced into
one more run afterwards, so clicks never pile up requests.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..clients.baseten import DEFAULT_METRICS, KNOWN_METRICS
from ..errors import OrqMagicError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..clients import BasetenClient

WINDOWS = ("1h", "6h", "24h", "7d", "14d", "custom")
AUTO_REFRESH = (("off", 0), ("30 s", 30), ("1 min", 60), ("5 min", 300))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class MetricsPanel(w.VBox):
    """Baseten deployment metrics in a panel. ``panel.df`` is the frame behind the current plot."""

    def __init__(self, model_id: str | None = None, deployment_id: str | None = None, *,
                 metrics: tuple[str, ...] = DEFAULT_METRICS, window: str = "24h", mode: str = "SERIES",
                 baseten: BasetenClient | None = None, autoload: bool = True) -> None:
        self._baseten = baseten
        self.df: pd.DataFrame | None = None
        self.figure: Figure | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._done = threading.Event()
        self._done.set()
        self._timer: threading.Timer | None = None
        self._pending_deployment: str | None = None  # to select once the model's deployments are loaded

        self.model = w.Dropdown(description="Model", options=[], layout=w.Layout(width="320px"))
        self.deployment = w.Dropdown(description="Deployment", options=[], layout=w.Layout(width="320px"))
        self.metrics = w.SelectMultiple(description="Metrics", options=KNOWN_METRICS, value=tuple(metrics),
                                        rows=7, layout=w.Layout(width="520px"))
        self.mode = w.ToggleButtons(options=("SERIES", "SUMMARY", "CURRENT"), value=mode, description="Mode",
                                    style={"button_width": "90px"})
        self.window = w.Dropdown(options=WINDOWS, value=window, description="Window", layout=w.Layout(width="200px"))
        self.start = w.Text(description="From", placeholder="2026-11-20 08:00 or 36h", layout=w.Layout(width="260px"))
        self.end = w.Text(description="To", placeholder="now", layout=w.Layout(width="260px"))
        self.auto_refresh = w.Dropdown(options=AUTO_REFRESH, value=0, description="Auto", layout=w.Layout(width="180px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh", button_style="primary")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="160px", visibility="hidden"))
        self.status = w.HTML()
        self.plot = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.table = w.HTML()
        self.download = w.HTML()
        custom = w.HBox([self.start, self.end], layout=w.Layout(display="none"))
        self._custom = custom

        self.model.observe(self._on_model, names="value")
        self.window.observe(self._on_window, names="value")
        self.mode.observe(self._on_window, names="value")
        self.auto_refresh.observe(self._on_auto, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())

        super().__init__([
            w.HBox([self.model, self.deployment]),
            self.metrics,
            w.HBox([self.mode, self.window, self.auto_refresh]),
            custom,
            w.HBox([self.refresh_button, self.progress, self.status]),
            self.plot,
            w.Accordion([w.VBox([self.table, self.download])], titles=("Data",), selected_index=None),
        ])
        if autoload:
            self.load_models(model_id, deployment_id)
            if self.deployment.value:
                self.refresh(wait=True)

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

    def _on_auto(self, change: dict[str, Any]) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        seconds = self.auto_refresh.value
        if seconds:
            self._timer = threading.Timer(seconds, self._auto_tick)
            self._timer.daemon = True
            self._timer.start()

    def _auto_tick(self) -> None:
        self.refresh()
        self._schedule()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().close()

    # -- fetching ----------------------------------------------------------------------

    def query(self) -> dict[str, Any]:
        """The arguments of the next fetch, read from the controls."""
        mode = self.mode.value
        query: dict[str, Any] = {"model_id": self.model.value, "deployment_id": self.deployment.value,
                                 "metrics": list(self.metrics.value) or None, "mode": mode}
        if mode != "CURRENT":
            if self.window.value == "custom":
                query["start"] = self.start.value.strip() or None
                query["end"] = self.end.value.strip() or None
            else:
                query["start"] = self.window.value
        return query

    def refresh(self, wait: bool = False) -> None:
        """Fetch and redraw. While a fetch runs, further calls coalesce into one more run."""
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
            self._done.clear()
        thread = threading.Thread(target=self._run, name="orqmagic-metrics-panel", daemon=True)
        thread.start()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = 60) -> bool:
        """Block until no fetch is running (for scripts and tests)."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        while True:
            self._fetch_once()
            with self._lock:
                if not self._again:
                    self._running = False
                    self._done.set()
                    return
                self._again = False

    def _fetch_once(self) -> None:
        from ..frames import fetch_metrics, figure_png, plot_metrics

        query = self.query()
        if not query["model_id"] or not query["deployment_id"]:
            self._show_error("pick a model and a deployment first")
            return
        self.refresh_button.disabled = True
        self.progress.value, self.progress.layout.visibility = 0, "visible"
        self.status.value = "<i>loading…</i>"
        started = dt.datetime.now()

        def progress(done: int, total: int) -> None:
            self.progress.max, self.progress.value = total, done

        try:
            frame = fetch_metrics(**query, baseten=self._client(), on_progress=progress)
            figure = plot_metrics(frame)
            png = figure_png(figure)
        except (OrqMagicError, ValueError) as exc:
            self._show_error(exc)
            return
        finally:
            self.refresh_button.disabled = False
            self.progress.layout.visibility = "hidden"
        self.df, self.figure, self.error = frame, figure, None
        self.plot.value = png
        self.table.value = frame.head(12).to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—")
        csv = frame.to_csv(index=False).encode()
        name = f"baseten-{query['model_id']}-{query['deployment_id']}-{started:%Y%m%d-%H%M%S}.csv"
        self.download.value = (f'<a download="{html.escape(name)}" href="data:text/csv;base64,{base64.b64encode(csv).decode()}">'
                               f"⬇ Download CSV ({len(frame):,} rows)</a>")
        seconds = (dt.datetime.now() - started).total_seconds()
        self.status.value = (f"{frame['metric'].nunique()} metrics · {frame['time'].nunique()} steps · "
                             f"{len(frame):,} rows · {seconds:.1f} s")

    def _show_error(self, error: BaseException | str) -> None:
        self.error = error if isinstance(error, str) else _one_line(error)
        self.status.value = f'<span style="color:#b00">⚠ {html.escape(self.error)}</span>'

    def export_csv(self, path: str) -> str:
        """Write ``panel.df`` to ``path`` as CSV and return the path."""
        if self.df is None:
            raise ValueError("nothing fetched yet: press Refresh first")
        self.df.to_csv(path, index=False)
        return path
