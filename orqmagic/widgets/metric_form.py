"""``MetricForm``: define a Galtea metric with a live preview of exactly what will be sent."""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as w

from ..clients.galtea import CREATABLE_SOURCES, EVALUATION_PARAMS, EVALUATION_PARAMS_SNAKE, metric_body
from ..errors import OrqMagicError

NEW_METRIC = ("(new metric)", "")  # the empty value means: a root metric, not a revision


def _ids(text: str) -> list[str] | None:
    ids = [t.strip() for t in text.split(",") if t.strip()]
    return ids or None


class MetricForm(w.VBox):
    """All creation fields, source-dependent ones shown only where they apply, and Create."""

    def __init__(self, *, galtea: Any = None, load_existing: bool = True) -> None:
        self._galtea = galtea
        self.created: dict[str, Any] | None = None
        self.name = w.Text(description="Name", placeholder="Faithfulness")
        self.source = w.Dropdown(options=CREATABLE_SOURCES, value="PARTIAL_PROMPT", description="Source")
        self.spelling = w.ToggleButtons(options=("camelCase", "snake_case"), value="camelCase", description="Params as",
                                        style={"button_width": "100px"})
        self.evaluation_params = w.TagsInput(value=["input", "actualOutput"], allowed_tags=list(EVALUATION_PARAMS),
                                             allow_duplicates=False)
        self.judge_prompt = w.Textarea(description="Judge prompt", placeholder="Score 1 if the answer ...",
                                       layout=w.Layout(width="560px", height="90px"))
        self.evaluator_model_name = w.Text(description="Evaluator", placeholder="GPT-4")
        self.eval_params_top = w.Checkbox(description="evaluation params at the top of the judge prompt", indent=False)
        self.tags = w.TagsInput(value=[], allow_duplicates=False)
        self.description = w.Textarea(description="Description", layout=w.Layout(width="560px"))
        self.documentation_url = w.Text(description="Docs URL", placeholder="https://...")
        self.revision_of = w.Dropdown(options=[NEW_METRIC], value="", description="Revision of")
        self.specification_ids = w.Text(description="Spec ids", placeholder="spec_1, spec_2")
        self.user_group_ids = w.Text(description="Group ids", placeholder="ug_1")
        self.preview = w.HTML()
        self.create_button = w.Button(description="Create", button_style="success", icon="plus")
        self.status = w.HTML()
        self._prompt_fields = w.VBox([self.judge_prompt, self.evaluator_model_name, self.eval_params_top])
        for control in (self.name, self.source, self.evaluation_params, self.judge_prompt, self.evaluator_model_name,
                        self.eval_params_top, self.tags, self.description, self.documentation_url, self.revision_of,
                        self.specification_ids, self.user_group_ids):
            control.observe(lambda _: self._update(), names="value")
        self.spelling.observe(self._on_spelling, names="value")
        self.create_button.on_click(lambda _: self.create())
        super().__init__([
            self.name, self.source,
            w.HBox([self.spelling]), w.HBox([w.Label("Evaluation params"), self.evaluation_params]),
            self._prompt_fields,
            w.HBox([w.Label("Tags"), self.tags]), self.description, self.documentation_url,
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
            self.status.value = f'<span style="color:#b00">⚠ could not list metrics: {html.escape(str(exc))}</span>'
            return
        self.revision_of.options = [NEW_METRIC] + [(f"{m['name']} ({m['id']})", m["id"]) for m in metrics]

    def _on_spelling(self, change: dict[str, Any]) -> None:
        source, target = ((EVALUATION_PARAMS_SNAKE, EVALUATION_PARAMS) if change["new"] == "camelCase"
                          else (EVALUATION_PARAMS, EVALUATION_PARAMS_SNAKE))
        mapping = dict(zip(source, target, strict=True))
        chosen = [mapping.get(p, p) for p in self.evaluation_params.value]
        self.evaluation_params.allowed_tags = list(target)
        self.evaluation_params.value = chosen

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

    def _update(self) -> None:
        self._prompt_fields.layout.display = "flex" if self.source.value == "PARTIAL_PROMPT" else "none"
        try:
            preview = json.dumps(self.body(), indent=2)
            self.create_button.disabled = False
            self.preview.value = f"<pre>{html.escape(preview)}</pre>"
        except OrqMagicError as exc:
            self.create_button.disabled = True
            self.preview.value = f'<span style="color:#a60">{html.escape(str(exc))}</span>'

    def create(self) -> dict[str, Any] | None:
        try:
            created = self._client().create_metric(self.name.value, **self.fields())
        except OrqMagicError as exc:
            self.status.value = f'<span style="color:#b00">⚠ {html.escape(" ".join(str(exc).split()))}</span>'
            return None
        self.created = created
        family = created.get("metricGroupId")
        self.status.value = (f'<span style="color:#070">✅ created <code>{html.escape(created["id"])}</code>'
                             f" in family <code>{html.escape(str(family))}</code></span>")
        self.load_existing()
        return created
