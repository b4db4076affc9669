"""8. One MetricsPanel refresh with every metric (19) over 14 days: display traffic and click-to-plot time.

Traffic is what the kernel would send the front end for that refresh: every widget state
update (the plot PNG, table, status lines, progress) counted at the comm layer, plus the
saved-notebook snapshot bundle. Click-to-plot is the wall time from ``refresh()`` (what the
Refresh button calls) to the new PNG being set on the panel's image widget (the moment its
comm message goes to the front end): two 7-day fetches from a sandbox in its own process, the
frame, the plot, the PNG. The refresh goes on after that (table, status, saved-notebook
snapshot); its full wall time is reported too. Refreshes of the same metrics reuse the
figure; the first plot of a metric set (a new figure) is timed separately.
"""

from __future__ import annotations

import json
import statistics
import time

from ._common import Figure, sandbox_process


class _Handle:
    """Stands in for the display handle a notebook gives the panel (what ``update_display_data`` would carry)."""

    def __init__(self, sent: list[int]) -> None:
        self.sent = sent

    def update(self, bundle: dict, raw: bool = True) -> None:
        self.sent.append(len(json.dumps(bundle)))


def run(quick: bool) -> list[Figure]:
    import ipywidgets

    from orqmagic.clients import BasetenClient
    from orqmagic.clients.baseten import KNOWN_METRICS
    from orqmagic.widgets import MetricsPanel

    sent: list[int] = []
    original = ipywidgets.Widget._send

    def counting(self, msg, buffers=None):
        sent.append(len(json.dumps(msg, default=str)) + sum(len(b) for b in buffers or ()))
        return original(self, msg, buffers=buffers)

    repeats = 3 if quick else 5
    with sandbox_process() as (url, key):
        client = BasetenClient(base_url=url, api_key=key)
        panel = MetricsPanel("llama-chat", "prod-v3", metrics=KNOWN_METRICS, window="14d", baseten=client)
        if hasattr(panel, "_handles"):
            panel._handles.append(_Handle(sent))
        ipywidgets.Widget._send = counting
        shown: list[float] = []
        panel.plot.observe(lambda change: shown.append(time.perf_counter()) if change["new"] else None, names="value")
        try:
            times, full, cold, traffic = [], [], [], []
            for i in range(repeats + 3):
                if i >= repeats:
                    panel.figure = None  # as after a change of metrics: a new figure
                panel.plot.value, panel.table.value = b"", ""  # so the refresh sends them in full, as after a change
                sent.clear()
                shown.clear()
                started = time.perf_counter()
                panel.refresh(wait=True)
                done = time.perf_counter()
                (cold if i >= repeats else times).append(shown[0] - started)
                if i < repeats:
                    full.append(done - started)
                    traffic.append(sum(sent))
        finally:
            ipywidgets.Widget._send = original
            panel.close()
            client.close()
    assert panel.error is None, panel.error
    return [
        Figure("panel: display traffic of one refresh (19 metrics, 14 days)", statistics.median(traffic) / 1024, "KiB",
               target=293.0, note="300 KB"),
        Figure(f"panel: click-to-plot time (19 metrics, 14 days, median of {repeats})", statistics.median(times), "s",
               target=0.5),
        Figure("panel: whole refresh incl. table and snapshot (median)", statistics.median(full), "s"),
        Figure("panel: click-to-plot, new metric set (new figure, median of 3)", statistics.median(cold), "s"),
    ]
