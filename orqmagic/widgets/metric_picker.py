"""``MetricPicker``: every metric visible by its readable name (raw name on hover), with a filter."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
from traitlets import Tuple, observe

from ..frames.plot import pretty_metric
from ..render.theme import label_html


class MetricPicker(w.VBox):
    """Checkboxes in a grid; ``value`` is the tuple of ticked raw names in the order they were ticked.

    A ticked metric stays visible whatever the filter says, so the list always shows what will be plotted.
    """

    value = Tuple()
    options = Tuple()

    def __init__(self, options: tuple[str, ...], value: tuple[str, ...] = (), **kwargs: Any) -> None:
        self._syncing = False
        self._boxes: dict[str, w.Checkbox] = {}
        self.filter = w.Text(placeholder="filter metrics (e.g. gpu, tokens, latency)", layout=w.Layout(width="300px"),
                             continuous_update=True)
        self.count = w.HTML()
        self.none_button = w.Button(description="clear", tooltip="untick every metric", layout=w.Layout(width="70px"))
        self.grid = w.GridBox(layout=w.Layout(grid_template_columns="repeat(auto-fill, minmax(215px, 1fr))",
                                              grid_gap="0 12px", width="100%"))
        self.filter.observe(lambda _: self._apply_filter(), names="value")
        self.none_button.on_click(lambda _: setattr(self, "value", ()))
        super().__init__([w.HBox([w.HTML(label_html("Metrics"), layout=w.Layout(width="86px")), self.filter, self.none_button,
                                  self.count], layout=w.Layout(flex_flow="row wrap", align_items="center")),
                          self.grid], **kwargs)
        self.options = tuple(options)
        self.value = tuple(value)

    @observe("options")
    def _rebuild(self, change: dict[str, Any]) -> None:
        self._boxes = {}
        for name in change["new"]:
            box = w.Checkbox(value=name in self.value, description=pretty_metric(name), tooltip=name, indent=False,
                             layout=w.Layout(width="auto", height="22px", margin="0"))
            box.observe(self._on_box, names="value")
            self._boxes[name] = box
        self.grid.children = tuple(self._boxes.values())
        self._apply_filter()

    def _on_box(self, change: dict[str, Any]) -> None:
        """Keep the order of ticking: a newly ticked metric joins at the end, so the panels drawn before stay put."""
        if not self._syncing:
            kept = [name for name in self.value if name in self._boxes and self._boxes[name].value]
            self.value = (*kept, *(name for name, box in self._boxes.items() if box.value and name not in kept))

    @observe("value")
    def _sync(self, change: dict[str, Any]) -> None:
        self._syncing = True
        try:
            for name, box in self._boxes.items():
                box.value = name in change["new"]
        finally:
            self._syncing = False
        self._apply_filter()

    def _apply_filter(self) -> None:
        words = self.filter.value.lower().split()
        for name, box in self._boxes.items():
            shown = box.value or all(word in name.lower() for word in words)
            box.layout.display = None if shown else "none"
        self.count.value = f"<small>{len(self.value)} of {len(self._boxes)} selected</small>"
