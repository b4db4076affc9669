"""``FeedbackPanel``: score an answer in one step; the outbox makes sure the score arrives."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..errors import OrqMagicError, ValidationError
from ..render.theme import MARK, status_html
from .snapshot import SavedOutput


class FeedbackPanel(SavedOutput, w.VBox):
    """Thumbs up/down, a 0–100 score, an optional comment, Send. What was entered stays on screen.

    ``result_or_id`` is an :class:`~orqmagic.InvokeResult` (usage and timings can
    then be attached) or a bare response id. A saved notebook shows what was sent
    (score, comment, delivered or waiting in the outbox) where the panel was.
    """

    def __init__(self, result_or_id: Any, *, compact: bool = False, outbox: Any = None) -> None:
        from ..result import InvokeResult

        self.result = result_or_id if isinstance(result_or_id, InvokeResult) else None
        self.transaction_id = self.result.id if self.result is not None else result_or_id
        if not isinstance(self.transaction_id, str) or not self.transaction_id:
            raise ValidationError("FeedbackPanel needs an InvokeResult with an id, or a response id", field="result_or_id")
        self._outbox = outbox
        self.receipt: Any = None
        self._submitted: dict[str, Any] | None = None  # what the last send submitted: the same again is not re-sent
        self.outcome: tuple[str, str] | None = None  # (kind, one line) of the last send, for the saved notebook
        # Font Awesome icons ship with ipywidgets: no emoji font needed
        self.up = w.Button(icon="thumbs-up", tooltip="good answer (score 100)", layout=w.Layout(width="48px"))
        self.down = w.Button(icon="thumbs-down", tooltip="bad answer (score 0)", layout=w.Layout(width="48px"))
        self.score = w.IntSlider(value=50, min=0, max=100, description="Score", continuous_update=False)
        self.comment = w.Text(placeholder="optional comment (kept in metadata)", layout=w.Layout(width="320px"))
        metrics_known = bool(self.result is not None and self.result.metrics_fields())
        self.attach = w.Checkbox(value=metrics_known, disabled=not metrics_known, description="attach usage and timings",
                                 indent=False)
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.status = w.HTML()
        self.up.on_click(lambda _: self._thumb(100))
        self.down.on_click(lambda _: self._thumb(0))
        self.send_button.on_click(lambda _: self.send())
        for control in (self.score, self.comment, self.attach):
            control.observe(lambda _: self._changed(), names="value")
        row = [self.up, self.down, self.score, self.send_button, self.status]
        if compact:
            super().__init__([w.HBox(row)])
        else:
            super().__init__([w.HTML(f"Feedback for <code>{html.escape(self.transaction_id)}</code>"),
                              w.HBox(row[:3]), self.comment, self.attach, w.HBox(row[3:])])

    def _thumb(self, score: int) -> None:
        self.score.value = score
        self.send()

    def _changed(self) -> None:
        """The controls no longer match what the status line reports: clear it."""
        if self._submitted is not None and self.fields() != self._submitted:
            self.status.value = ""

    def fields(self) -> dict[str, Any]:
        """What Send will submit, from the current controls."""
        fields: dict[str, Any] = {"score": int(self.score.value)}
        if self.comment.value.strip():
            fields["metadata"] = {"comment": self.comment.value.strip()}
        if self.attach.value and self.result is not None:
            fields.update(self.result.metrics_fields())
        return fields

    def send(self) -> Any:
        """Submit the current score (once: pressing again without a change does not send a duplicate)."""
        from ..api import add_metrics

        fields = self.fields()
        if fields == self._submitted and self.receipt is not None:
            self.status.value = status_html("muted", f"already sent (score {fields['score']}): change the score or "
                                                     "comment to send another")
            return self.receipt
        try:
            self.receipt = add_metrics(self.transaction_id, outbox=self._outbox, **fields)
        except OrqMagicError as exc:
            self._report("error", f"{MARK['error']} not sent: {' '.join(str(exc).split())}")
            return None
        self._submitted = fields
        note = getattr(self.receipt, "note", None)  # "sent, but not recorded": the local store could not be used
        if self.receipt.status == "sent" and note:
            self._report("warn", f"{MARK['ok']} sent (score {fields['score']}), but {note}")
        elif self.receipt.status == "sent":
            self._report("ok", f"{MARK['ok']} sent (score {fields['score']})")
        else:
            self._report("warn", f"{MARK['queued']} score {fields['score']} kept in the outbox, will retry "
                                 f"(%orq flush): {self.receipt.error or ''}")
        return self.receipt

    def _report(self, kind: str, line: str) -> None:
        self.outcome = (kind, line)
        self.status.value = status_html(kind, line)
        self.settled()

    def summary(self) -> str:
        """One line for the saved notebook: what was sent for which response, or that nothing was."""
        comment = (self._submitted or {}).get("metadata", {}).get("comment")
        said = f" · comment: {comment}" if comment and self.outcome and self.outcome[0] != "error" else ""
        return f"Feedback for {self.transaction_id}: {self.outcome[1] if self.outcome else 'nothing sent yet'}{said}"

    def static_html(self) -> str:
        head = f"Feedback for <code>{html.escape(self.transaction_id)}</code>: "
        if self.outcome is None:
            return head + status_html("muted", "nothing sent yet")
        comment = (self._submitted or {}).get("metadata", {}).get("comment")
        said = (f" · comment: <q>{html.escape(comment)}</q>" if comment and self.outcome[0] != "error" else "")
        return head + status_html(*self.outcome) + said
