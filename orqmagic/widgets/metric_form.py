"""``MetricForm``: define a Galtea metric with a live preview of exactly what will be sent."""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as w

from ..clients.galtea import CREATABLE_SOURCES, EVALUATION_PARAMS, EVALUATION_PARAMS_SNAKE, metric_body
from ..errors import OrqMagicError
from ..render.contain import CODE_FONT
from ..render.theme import MARK, status_html
from .snapshot import SavedOutput

NEW_METRIC = ("(new metric)", "")  # the empty value means: a root metric, not a revision
LABEL = {"description_width": "110px"}  # every label whole ("Judge prompt", "Revision of"), all aligned
WIDE = w.Layout(width="560px")


def _ids(text: str) -> list[str] | None:
    ids = [t.strip() for t in text.split(",") if t.strip()]
    return ids or None


class MetricForm(SavedOutput, w.VBox):
    """All creation fields, source-dependent ones shown only where they apply, and Create.

    Until something is typed the preview says what to fill in, not an error. A saved
    notebook shows the metric created (its id and the body sent), or that none was.
    """

    def __init__(self, *, galtea: Any = None, load_existing: bool = True) -> None:
        self._galtea = galtea
        self.created: dict[str, Any] | None = None
        self.touched = False  # nothing typed yet: the preview guides instead of reporting an error
        self.name = w.Text(description="Name", placeholder="Faithfulness", style=LABEL, layout=WIDE)
        self.source = w.Dropdown(options=CREATABLE_SOURCES, value="PARTIAL_PROMPT", description="Source", style=LABEL)
        self.spelling = w.ToggleButtons(options=("camelCase", "snake_case"), value="camelCase", description="Params as",
                                        style={**LABEL, "button_width": "100px"})
        # no allowed_tags: the front end would drop an unknown name silently; the preview names it instead
        self.evaluation_params = w.TagsInput(value=["input", "actualOutput"], allow_duplicates=False,
                                             placeholder="type a parameter, Enter")
        self.params_hint = w.HTML()
        self.judge_prompt = w.Textarea(description="Judge prompt", placeholder="Score 1 if the answer ...", style=LABEL,
                                       layout=w.Layout(width="560px", height="90px"))
        self.evaluator_model_name = w.Text(description="Evaluator", placeholder="GPT-4", style=LABEL, layout=WIDE)
        self.eval_params_top = w.Checkbox(description="evaluation params at the top of the judge prompt", indent=True,
                                          style=LABEL, layout=w.Layout(width="auto"))
        self.tags = w.TagsInput(value=[], allow_duplicates=False, placeholder="type a tag, Enter (e.g. rag)")
        self.description = w.Textarea(description="Description", style=LABEL, layout=WIDE)
        self.documentation_url = w.Text(description="Docs URL", placeholder="https://...", style=LABEL, layout=WIDE)
        self.revision_of = w.Dropdown(options=[NEW_METRIC], value="", description="Revision of", style=LABEL, layout=WIDE)
        self.specification_ids = w.Text(description="Spec ids", placeholder="spec_1, spec_2 (comma-separated)", style=LABEL, layout=WIDE)
        self.user_group_ids = w.Text(description="Group ids", placeholder="ug_1 (comma-separated)", style=LABEL, layout=WIDE)
        self.preview = w.HTML()
        self.create_button = w.Button(description="Create", button_style="success", icon="plus")
        self.status = w.HTML()
        self._created_body: dict[str, Any] | None = None  # the body of the last Create: the same is not re-created
        self._prompt_fields = w.VBox([self.judge_prompt, self.evaluator_model_name, self.eval_params_top])
        for control in (self.name, self.source, self.evaluation_params, self.judge_prompt, self.evaluator_model_name,
                        self.eval_params_top, self.tags, self.description, self.documentation_url, self.revision_of,
                        self.specification_ids, self.user_group_ids):
            control.observe(lambda _: self._edited(), names="value")
        self.spelling.observe(self._on_spelling, names="value")
        self.create_button.on_click(lambda _: self.create())
        super().__init__([
            self.name, self.source,
            w.HBox([self.spelling]),
            w.HBox([w.Label("Eval. params", tooltip="evaluation parameters", layout=w.Layout(width="114px")),
                    w.VBox([self.evaluation_params, self.params_hint])]),
            self._prompt_fields,
            w.HBox([w.Label("Tags", layout=w.Layout(width="114px")), self.tags]), self.description, self.documentation_url,
            self.revision_of, self.specification_ids, self.user_group_ids,
            w.HTML("<b>Will send</b> <code>POST /metrics</code>:"), self.preview,
            w.HBox([self.create_button, self.status]),
        ])
        if load_existing:
            self.load_existing()
        self._update()

    def _client(self) -> Any:
        if self._galtea is None:
            from ..api import client

            self._galtea = client("galtea")
        return self._galtea

    def load_existing(self) -> None:
        """Fill the "revision of" picker from the existing (active) metrics."""
        try:
            metrics = self._client().list_metrics(sort=("createdAt", "desc"), limit=200)
        except OrqMagicError as exc:
            self.status.value = status_html("error", f"{MARK['error']} could not list metrics: {exc}")
            return
        self.revision_of.options = [NEW_METRIC] + [(f"{m['name']} ({m['id']})", m["id"]) for m in metrics]

    def _on_spelling(self, change: dict[str, Any]) -> None:
        source, target = ((EVALUATION_PARAMS_SNAKE, EVALUATION_PARAMS) if change["new"] == "camelCase"
                          else (EVALUATION_PARAMS, EVALUATION_PARAMS_SNAKE))
        mapping = dict(zip(source, target, strict=True))
        chosen = [mapping.get(p, p) for p in self.evaluation_params.value]
        self.evaluation_params.value = chosen
        self._update()

    def fields(self) -> dict[str, Any]:
        """``create_metric`` keyword arguments from the controls (source-dependent ones only where shown)."""
        prompt_based = self.source.value == "PARTIAL_PROMPT"
        revision = self.revision_of.value
        return {
            "source": self.source.value,
            "evaluation_params": list(self.evaluation_params.value) or None,
            "judge_prompt": (self.judge_prompt.value.strip() or None) if prompt_based else None,
            "evaluator_model_name": (self.evaluator_model_name.value.strip() or None) if prompt_based else None,
            "eval_params_top": (self.eval_params_top.value or None) if prompt_based else None,
            "tags": list(self.tags.value) or None,
            "description": self.description.value.strip() or None,
            "documentation_url": self.documentation_url.value.strip() or None,
            "parent_metric_id": revision or None,
            "specification_ids": _ids(self.specification_ids.value),
            "user_group_ids": _ids(self.user_group_ids.value),
        }

    def body(self) -> dict[str, Any]:
        """Exactly the JSON that Create sends; raises ValidationError while the form is incomplete."""
        return metric_body(self.name.value, **self.fields())

    def _edited(self) -> None:
        self.touched = True
        self._update()

    def _update(self) -> None:
        self._prompt_fields.layout.display = "flex" if self.source.value == "PARTIAL_PROMPT" else "none"
        known = EVALUATION_PARAMS if self.spelling.value == "camelCase" else EVALUATION_PARAMS_SNAKE
        self.params_hint.value = f"<small>known: {html.escape(', '.join(known))}</small>"
        try:
            body = self.body()
        except OrqMagicError as exc:
            self.create_button.disabled = True
            self.preview.value = (status_html("warn", str(exc)) if self.touched
                                  else status_html("muted", "fill in the form: the request appears here"))
            self.status.value = ""  # a stale "created" or error line would describe another form
            return
        self.preview.value = _json_html(body)
        unchanged = body == self._created_body
        self.create_button.disabled = unchanged  # Create twice would make two identical metrics
        self.create_button.tooltip = "already created: change the form to create another" if unchanged else ""
        if not unchanged:
            self.status.value = ""

    def create(self) -> dict[str, Any] | None:
        """Create the metric (once per distinct form: the same body again is refused)."""
        self.touched = True
        try:
            body = self.body()
        except OrqMagicError as exc:
            self.status.value = status_html("error", f"{MARK['error']} {' '.join(str(exc).split())}")
            return None
        if body == self._created_body:
            self.status.value = status_html("muted", "already created: change the form to create another")
            return None
        try:
            created = self._client().create_metric(self.name.value, **self.fields())
        except OrqMagicError as exc:
            self.status.value = status_html("error", f"{MARK['error']} {' '.join(str(exc).split())}")
            return None
        self.created, self._created_body = created, body
        family = created.get("metricGroupId")
        self.load_existing()
        self._update()
        self.status.value = status_html(
            "ok", f"{MARK['ok']} created <code>{html.escape(created['id'])}</code> in family "
                  f"<code>{html.escape(str(family))}</code>", escape=False)
        self.settled()
        return created

    def summary(self) -> str:
        """One line for the saved notebook: the metric created, or that none was."""
        if self.created is None:
            return "MetricForm: no metric created yet"
        return (f"MetricForm: created metric {self.created.get('name')} ({self.created['id']}) "
                f"in family {self.created.get('metricGroupId')}")

    def static_html(self) -> str:
        if self.created is None or self._created_body is None:
            return "MetricForm: " + status_html("muted", "no metric created yet")
        return (f"MetricForm: {status_html('ok', MARK['ok'] + ' created')} <b>{html.escape(str(self.created.get('name')))}"
                f"</b> <code>{html.escape(self.created['id'])}</code> in family "
                f"<code>{html.escape(str(self.created.get('metricGroupId')))}</code>, sent as "
                f"<code>POST /metrics</code>:{_json_html(self._created_body)}")


def _json_html(body: dict[str, Any]) -> str:
    """The request body as monospace JSON (inline style: nbconvert's HTML drops the font of a bare pre)."""
    return (f'<pre style="font-family:{html.escape(CODE_FONT)};font-size:12px;margin:4px 0">'
            f"{html.escape(json.dumps(body, indent=2))}</pre>")
