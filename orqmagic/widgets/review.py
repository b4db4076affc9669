"""``ReviewQueue``: score a run's answers one case at a time, with the keyboard, every score kept and sent.

The widget only shows and forwards: each key and button calls
:meth:`ReviewQueue.record` or a navigation method of the
:class:`~orqmagic.evaluation.review.ReviewSession`, which keeps the score in the
local store before the next case shows and hands the feedback to the outbox.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import OrqMagicError
from ..evaluation.review import SKIP, ReviewSession, load_review
from ..render.theme import status_html
from .keys import KeyDecoder

if TYPE_CHECKING:
    import pandas as pd

    from ..evaluation.review import Agreement

KEY_HELP = "n next · b back · s skip · u next unscored · c comment (Enter keeps it)"
STYLE = """<style>
.orqmagic-review{max-width:980px;border:1px solid var(--jp-border-color2,#ddd);border-radius:4px;padding:6px 10px}
.orqmagic-review .orqmagic-section{margin:4px 0;padding:4px 8px;border-left:3px solid var(--jp-border-color1,#bbb);
  color:var(--jp-content-font-color1,inherit);white-space:pre-wrap;overflow-wrap:anywhere}
.orqmagic-review .orqmagic-label{font-size:0.85em;color:var(--jp-ui-font-color2,#757575);margin-right:6px}
.orqmagic-review .orqmagic-answer{border-left:3px solid var(--jp-brand-color1,#1976d2);padding-left:8px;
  max-height:420px;overflow:auto}
.orqmagic-keybox input{caret-color:transparent;color:transparent !important;cursor:pointer;text-align:center}
.orqmagic-keybox input:focus{outline:2px solid var(--jp-brand-color1,#1976d2);
  background:var(--jp-layout-color2,#eee) !important}
.orqmagic-review .orqmagic-keys-on{display:none}
.orqmagic-review:has(.orqmagic-keybox input:focus) .orqmagic-keys-on{display:inline}
.orqmagic-review:has(.orqmagic-keybox input:focus) .orqmagic-keys-off{display:none}
%(hide)s{display:none !important}
</style>"""


class ReviewQueue(w.VBox):
    """One case at a time: input, answer, expected output, judge verdict; scored with keys or buttons.

    Click the ⌨ box (or Tab to it) once: then number keys score, ``n``/``b``
    move, ``s`` skips, ``u`` goes to the next unscored case and ``c`` opens
    the comment. :meth:`record` is the one path every key and button takes.
    """

    SKIP = SKIP

    def __init__(self, results: pd.DataFrame, *, name: str, metric: Any = None, scale: Any = (1, 5),
                 show: Sequence[str] | None = None, send: bool = True, reviewer: str | None = None,
                 outbox: Any = None, store: Any = None) -> None:
        self.session = ReviewSession(results, name=name, metric=metric, scale=scale, show=show, send=send,
                                     reviewer=reviewer, outbox=outbox, store=store)
        self._decoder = KeyDecoder()
        self._handles: list[Any] = []
        s = self.session
        self.header = w.HTML()
        self.header.add_class("orqmagic-review-header")
        self.rubric = w.HTML(self._rubric_html())
        self.inputs = w.HTML()
        self.answer = w.Output(layout=w.Layout(width="100%"))
        self.answer.add_class("orqmagic-answer")
        self.expected = w.HTML()
        self.judge = w.HTML()
        self.score_buttons = []
        for key, label, value in zip(s.scale.keys, s.scale.labels, s.scale.values, strict=True):
            text = label if s.scale.is_thumbs else (key if label == key else f"{key} {label}")
            button = w.Button(description=text, tooltip=f"{s.rubric.label} {label} (key {key})",
                              layout=w.Layout(width="auto", min_width="44px"))
            button.on_click(lambda _, value=value: self._clicked(self._score, value))
            self.score_buttons.append(button)
        self.back_button = self._nav("◀ back", "previous case (b)", self.back)
        self.skip_button = self._nav("skip", "no score, on to the next (s)", self.skip)
        self.next_button = self._nav("next ▶", "next case (n)", self.next)
        self.open_button = self._nav("next unscored »", "the next case neither scored nor skipped (u)",
                                     self.next_unscored)
        self.comment = w.Text(placeholder="comment (Enter keeps it; type it before the score to send it along)",
                              continuous_update=False, layout=w.Layout(width="100%"))
        self.comment.observe(lambda _: self._comment(), names="value")  # Enter, or leaving the field
        self._shown_case: int | None = None
        self._showing = False  # True while _show fills the controls: their change is not the reviewer's
        self.keybox = w.Text(value=self._decoder.initial(), continuous_update=True, description="⌨",
                             tooltip="click here (or Tab to it) and score with the keys",
                             layout=w.Layout(width="64px"), style={"description_width": "18px"})
        self.keybox.add_class("orqmagic-keybox")
        self.keybox.observe(self._keys, names="value")
        self.keybox._view_count = 0  # count views, so each new one gets the keyboard focus
        self.keybox.observe(self._focus_new_view, names="_view_count")
        self.hint = w.HTML()
        self.status = w.HTML()
        self._token = uuid.uuid4().hex[:12]  # ties the saved view to this widget, which hides it while it runs
        self.style = w.HTML(STYLE % {"hide": f".orqmagic-saved-{self._token}"})
        super().__init__([
            self.style, self.header, self.rubric, self.inputs, self.answer, self.expected, self.judge,
            w.HBox([w.HTML(f'<span class="orqmagic-label" style="line-height:28px">{_esc(s.rubric.label)}'
                           "</span>"), *self.score_buttons]),
            w.HBox([self.back_button, self.skip_button, self.next_button, self.open_button]),
            self.comment, w.HBox([self.keybox, self.hint]), self.status,
        ])
        self.add_class("orqmagic-review")
        self._show()

    # -- the public path -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def case(self) -> Any:
        """The case shown now."""
        return self.session.case

    def record(self, case: Any, score: Any, comment: str | None = None) -> Any:
        """Keep (and with ``send``, send) ``score`` for ``case``; the one path every key and button takes.

        ``score`` is a value of the scale, ``ReviewQueue.SKIP``, or None with a
        comment. Returns the stored review; raises a ValidationError (and keeps
        nothing) for a value off the scale.
        """
        review = self.session.record(case, score, comment)
        if self.session._index(case) == self.session.position:  # by key: [1, "a"] is the case (1, "a")
            self._show()
        self._publish()
        return review

    def next(self) -> None:
        self.session.next()
        self._show()

    def back(self) -> None:
        self.session.back()
        self._show()

    def skip(self) -> None:
        self.record(self.case, SKIP)
        self.session.next()
        self._show()

    def next_unscored(self) -> None:
        if not self.session.next_open():
            self._show("every case is scored or skipped")
            return
        self._show()

    @property
    def scores(self) -> pd.DataFrame:
        """case, score, comment, reviewer, time (UTC) — one row per case reviewed in this queue."""
        self.session.reload()
        return self.session.frame()

    def agreement(self, judged: pd.DataFrame, column: str = "score") -> Agreement:
        """How often people and a judge agree (see :meth:`ReviewSession.agreement`)."""
        self.session.reload()
        return self.session.agreement(judged, column)

    def wait_sent(self, timeout: float | None = 30.0) -> bool:
        return self.session.wait_sent(timeout)

    # -- keys and buttons -------------------------------------------------------------------------

    def _score(self, value: Any) -> None:
        try:
            self.record(self.case, value)
        except OrqMagicError as exc:
            self._show(f"⚠ {exc}", kind="error")
            return
        done = self.session.scored == len(self.session.cases)
        self.session.next()
        self._show(f"✓ all {len(self.session.cases)} cases scored: queue.scores has them, queue.agreement(judged) "
                   "compares them to a judge" if done else None, kind="ok")

    def _keys(self, change: dict[str, Any]) -> None:
        typed = self._decoder.feed(change["new"])
        if not typed:
            return
        self.keybox.value = self._decoder.clear()
        for char in typed:
            self._key(char)

    def _key(self, char: str) -> None:
        try:
            value = self.session.scale.key_for(char)
        except KeyError:
            action = {"n": self.next, "b": self.back, "p": self.back, "s": self.skip, "u": self.next_unscored,
                      "c": self.comment.focus, "\n": self.next}.get(char.lower())
            if action is None:
                self._show(f"key {char!r} does nothing here: {self.session.scale.describe()} · {KEY_HELP}",
                           kind="muted")
                return
            action()
            return
        self._score(value)

    def _comment(self) -> None:
        if self._showing:
            return
        text = self.comment.value.strip()
        stored = self.session.review_of()
        if not text and not (stored and stored.comment):
            self.keybox.focus()
            return
        try:
            self.record(self.case, None, comment=text)
        except OrqMagicError as exc:
            self._show(f"⚠ {exc}", kind="error")
            return
        self._show("comment kept", kind="ok")
        self.keybox.focus()

    def _nav(self, text: str, tooltip: str, action: Any) -> w.Button:
        button = w.Button(description=text, tooltip=tooltip, layout=w.Layout(width="auto"))
        button.on_click(lambda _: self._clicked(action))
        return button

    def _clicked(self, action: Any, *args: Any) -> None:
        """A button's action, then the keyboard back to the key box: a focused button would let the next key
        reach Jupyter's command-mode shortcuts (``4`` turns the cell into a heading, ``d d`` deletes it)."""
        action(*args)
        self.keybox.focus()

    def _focus_new_view(self, change: dict[str, Any]) -> None:
        if (change["new"] or 0) > (change["old"] or 0):
            self.keybox.focus()

    # -- showing ---------------------------------------------------------------------------------

    def _show(self, message: str | None = None, *, kind: str = "muted") -> None:
        s = self.session
        row = s.row()
        review = s.refresh() if self._shown_case != s.position else s.review_of()  # a new case: as stored now
        who = "yours" if review is None or review.reviewer == s.reviewer else review.reviewer
        given = "" if review is None else (
            f" · {_esc(who)}: <b>{_esc(_label(s, review.score))}</b>" if review.score is not None
            else (" · skipped" if review.skipped else ""))
        self.header.value = (f'<b>{_esc(self.name)}</b> · case <code>{_esc(str(self.case))}</code> · '
                             f'<span class="orqmagic-position">{_esc(s.progress())}</span>{given}')
        self.inputs.value = _section("input", [(c, row[c]) for c in s.show]) if s.show else ""
        expected = [(c, row[c]) for c in ("expected", "expected_output", "expectedOutput", "reference") if c in row]
        self.expected.value = _section("expected", expected)
        judge = [(c, row[c]) for c in ("score", "reason", "judge_error") if c in row and _shown(row[c])]
        self.judge.value = _section("judge", judge)
        if self._shown_case != s.position:  # the answer is redrawn only when the case changes
            self._shown_case = s.position
            self._show_answer(row)
        for button, value in zip(self.score_buttons, s.scale.values, strict=True):
            button.button_style = "success" if review is not None and review.score == value else ""
        self.back_button.disabled = s.position == 0
        self.next_button.disabled = s.position == len(s.cases) - 1
        self._showing = True
        try:
            self.comment.value = (review.comment or "") if review is not None else ""
        finally:
            self._showing = False
        self.hint.value = ('<span class="orqmagic-label orqmagic-keys-on">keys on: '
                           f'{_esc(s.scale.describe())} · {_esc(KEY_HELP)}</span>'
                           '<span class="orqmagic-label orqmagic-keys-off">click ⌨ (or Tab to it) to score with '
                           'the keys</span>')
        self.status.value = status_html(kind, message) if message else ""

    def _show_answer(self, row: pd.Series) -> None:
        from IPython.display import display

        from ..render.live import final_bundle

        with self.answer:
            self.answer.clear_output(wait=True)
            display(final_bundle(_as_result(row, self.session.results), "markdown", True), raw=True)

    def _rubric_html(self) -> str:
        rubric = self.session.rubric
        if not rubric.text:
            return ""
        return (f'<details open class="orqmagic-section"><summary><b>{_esc(rubric.label)}</b> rubric</summary>'
                f"{_esc(rubric.text)}</details>")

    # -- what a saved notebook keeps ---------------------------------------------------------------

    def summary(self) -> str:
        s = self.session
        counts = ", ".join(f"{label}: {n}" for label, n in s.distribution())
        return (f"ReviewQueue {self.name!r}: {s.scored} of {len(s.cases)} scored"
                + (f", {s.skipped} skipped" if s.skipped else "") + f" · {s.rubric.label} {counts}")

    def summary_html(self) -> str:
        """Progress and the distribution of scores as bars: what GitHub, nbviewer and a kernel-less notebook show."""
        s = self.session
        dist = s.distribution()
        top = max((n for _, n in dist), default=0) or 1
        rows = "".join(
            f'<tr><td style="text-align:right;padding-right:8px;font-weight:bold">{_esc(label)}</td>'
            f'<td><div style="background:var(--jp-brand-color1,#1976d2);height:10px;width:{round(160 * n / top)}px">'
            f'</div></td><td style="padding-left:8px">{n}</td></tr>' for label, n in dist)
        skipped = f", {s.skipped} skipped" if s.skipped else ""
        return (f'<div class="orqmagic-saved-{self._token}" style="display:inline-block">'
                f"<b>Review {_esc(self.name)}</b>: {s.scored} of {len(s.cases)} scored{skipped}"
                f'<table style="margin-top:4px"><tr><th style="text-align:right;padding-right:8px">{_esc(s.rubric.label)}'
                f'</th><th></th><th style="padding-left:8px;text-align:left">cases</th></tr>{rows}</table>'
                '<span style="font-size:0.85em;opacity:0.75">saved view: run the cell to review</span></div>')

    def __repr__(self) -> str:
        s = self.session
        return f"ReviewQueue({self.name!r}, {s.scored} of {len(s.cases)} scored, case {self.case!r})"

    def _static_bundle(self) -> dict[str, Any]:
        return {"text/html": self.summary_html(), "text/plain": self.summary()}

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = f"ReviewQueue {self.name!r} (its progress is saved in the next output)"
        return bundle

    def _ipython_display_(self) -> None:
        """The widget, then its progress as HTML and text, updated after every score (hidden while the widget
        runs; what a saved notebook shows without it). Updating the widget's own output would rebuild its view
        and take the keyboard focus away, so the progress lives in an output of its own."""
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)
        self._handles.append(display(self._static_bundle(), raw=True, display_id=True))

    def _publish(self) -> None:
        if self._handles:
            bundle = self._static_bundle()
            for handle in self._handles:
                handle.update(bundle, raw=True)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _esc(text: str) -> str:
    """Escaped for HTML, without control characters or direction overrides (they would garble the page)."""
    return html.escape(_CONTROL.sub("", text))


def _label(session: ReviewSession, value: Any) -> str:
    scale = session.scale
    return scale.labels[scale.values.index(value)] if value in scale.values else str(value)


def _shown(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value)


def _section(title: str, items: list[tuple[Any, Any]]) -> str:
    items = [(k, v) for k, v in items if _shown(v)]
    if not items:
        return ""
    body = "<br>".join(f'<span class="orqmagic-label">{_esc(str(k))}</span>{_esc(str(v))}'
                       for k, v in items)
    return f'<div class="orqmagic-section"><span class="orqmagic-label"><b>{title}</b></span><br>{body}</div>'


def _as_result(row: pd.Series, results: pd.DataFrame) -> Any:
    """The row as an InvokeResult, so the answer renders exactly as the live view renders a finished answer."""
    from ..result import InvokeResult

    def get(column: str) -> Any:
        value = row.get(column)
        return value if _shown(value) else None

    usage = {k: int(get(k)) for k in ("prompt_tokens", "completion_tokens") if get(k) is not None}
    return InvokeResult(text=str(get("text") or ""), deployment=str(get("deployment") or results.attrs.get("deployment")
                                                                    or "answer"),
                        id=get("id"), model=get("model"), usage=usage, latency_ms=get("latency_ms"),
                        ttft_ms=get("ttft_ms"), finish_reason=get("finish_reason"), error=get("error"),
                        complete=get("error") is None)


def review(results: pd.DataFrame, *, name: str, metric: Any = None, scale: Any = (1, 5),
           show: Sequence[str] | None = None, send: bool = True, reviewer: str | None = None) -> ReviewQueue:
    """A keyboard-driven review queue over ``results``; scores are kept under ``name`` and resume there.

    ``metric`` (a Galtea metric dict or ``Metric``) labels the scores and shows
    its judge prompt as the rubric; ``scale`` is ``(1, 5)`` by default,
    ``"thumbs"`` for 👍/👎, or labels; ``show`` picks the input columns shown;
    ``send`` sends each score to orq as feedback (``source: human``);
    ``reviewer`` names who scores (default: the login name), kept with each score and sent in metadata.
    """
    return ReviewQueue(results, name=name, metric=metric, scale=scale, show=show, send=send, reviewer=reviewer)


__all__ = ["ReviewQueue", "load_review", "review"]
