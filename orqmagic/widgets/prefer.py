"""``PreferBar``: a "prefer this one" button per column of a comparison; the outbox delivers the scores."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..errors import OrqMagicError
from ..render.theme import MARK, status_html
from .snapshot import SavedOutput


class PreferBar(SavedOutput, w.VBox):
    """One button per column that has a response id; a click sends ``high`` to it and ``low`` to the others.

    The scores go through :meth:`Comparison.prefer`, so nothing is lost when
    the network fails: they wait in the outbox. The choice stays on screen, and
    a saved notebook shows which column was preferred and whether the scores arrived.
    """

    def __init__(self, comparison: Any, *, high: int = 100, low: int = 0) -> None:
        self.comparison, self.high, self.low = comparison, high, low
        self.receipts: dict[str, Any] | None = None
        self.preferred: str | None = None
        self.outcome: tuple[str, str] | None = None  # (kind, one line) of the last click
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
            self._report("error", f"{MARK['error']} not sent: {' '.join(str(exc).split())}")
            return None
        self.preferred = label
        for name, button in self.buttons.items():
            button.button_style = "success" if name == label else ""
            button.icon = "check" if name == label else ""
        queued = [n for n, r in self.receipts.items() if r is not None and r.status != "sent"]
        note = f"; kept in the outbox, will retry (%orq flush): {', '.join(queued)}" if queued else ""
        self._report("warn" if queued else "ok",
                     f"{MARK['ok']} preferred {label} (score {self.high}, others {self.low}){note}")
        return self.receipts

    def _report(self, kind: str, line: str) -> None:
        self.outcome = (kind, line)
        self.status.value = status_html(kind, line)
        self.settled()

    def summary(self) -> str:
        """One line for the saved notebook: the preferred column and the scores sent, or that none was chosen."""
        columns = ", ".join(self.buttons)
        return f"Preference between {columns}: {self.outcome[1] if self.outcome else 'none given yet'}"

    def static_html(self) -> str:
        columns = ", ".join(f"<b>{html.escape(label)}</b>" if label == self.preferred else html.escape(label)
                            for label in self.buttons)
        state = status_html(*self.outcome) if self.outcome else status_html("muted", "none given yet")
        return f"Preference between {columns}: {state}"
