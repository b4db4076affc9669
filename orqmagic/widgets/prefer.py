"""``PreferBar``: a "prefer this one" button per column of a comparison; the outbox delivers the scores."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..errors import OrqMagicError


class PreferBar(w.VBox):
    """One button per column that has a response id; a click sends ``high`` to it and ``low`` to the others.

    The scores go through :meth:`Comparison.prefer`, so nothing is lost when
    the network fails: they wait in the outbox. The choice stays on screen.
    """

    def __init__(self, comparison: Any, *, high: int = 100, low: int = 0) -> None:
        self.comparison, self.high, self.low = comparison, high, low
        self.receipts: dict[str, Any] | None = None
        self.buttons: dict[str, w.Button] = {}
        for label, result in comparison.results.items():
            button = w.Button(description=f"prefer {label}", tooltip=f"score {high} for {label}, {low} for the others",
                              disabled=not result.id, layout=w.Layout(width="auto"))
            button.on_click(lambda _, label=label: self.prefer(label))
            self.buttons[label] = button
        self.status = w.HTML()
        super().__init__([w.HBox(list(self.buttons.values())), self.status])

    def prefer(self, label: str) -> dict[str, Any] | None:
        try:
            self.receipts = self.comparison.prefer(label, high=self.high, low=self.low)
        except OrqMagicError as exc:
            self.status.value = f"⚠ {html.escape(' '.join(str(exc).split()))}"
            return None
        for name, button in self.buttons.items():
            button.button_style = "success" if name == label else ""
        queued = [n for n, r in self.receipts.items() if r is not None and r.status != "sent"]
        note = (f" · kept in the outbox, will retry (<code>%orq flush</code>): {html.escape(', '.join(queued))}"
                if queued else "")
        self.status.value = f"✅ preferred <b>{html.escape(label)}</b> (score {self.high}, others {self.low}){note}"
        return self.receipts
