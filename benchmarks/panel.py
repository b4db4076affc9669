"""8. One MetricsPanel refresh with every metric (19) over 14 days: display traffic and click-to-plot time.

Traffic is what the kernel would send the front end for that refresh: every widget state
update (the plot PNG, table, status lines, progress) counted at the comm layer, plus the
saved-notebook snapshot bundle. Click-to-plot is the wall time of ``refresh(wait=True)``:
two 7-day fetches from a sandbox in its own process, the frame, the plot, the PNG.
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
        try:
            times, traffic = [], []
            for _ in range(repeats):
                panel.plot.value, panel.table.value = b"", ""  # so the refresh sends them in full, as after a change
                sent.clear()
                started = time.perf_counter()
                panel.refresh(wait=True)
                times.append(time.perf_counter() - started)
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
    ]
