"""Galtea metric definitions: every creation rule, revisions, MetricForm, and %%metric."""

import json

import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import ValidationError
from orqmagic.widgets import MetricForm

JUDGE = "Score 1 when the answer only uses the retrieved context."


def create(**kwargs):
    base = {"source": "PARTIAL_PROMPT", "evaluation_params": ["input", "actualOutput"], "judge_prompt": JUDGE}
    return orqmagic.create_metric(kwargs.pop("name", "Faithfulness"), **{**base, **kwargs})


def test_create_with_every_field(sandbox_env, sandbox):
    metric = create(evaluator_model_name="GPT-4", tags=["rag", "quality"], description="Sticks to sources",
                    documentation_url="https://docs.example.com/faithfulness", eval_params_top=True,
                    specification_ids=["spec_1"], user_group_ids=["ug_1"],
                    evaluation_params=["input", "actualOutput", "retrievalContext"])
    body = sandbox.received("galtea.metric")[-1]["body"]
    assert body == {"name": "Faithfulness", "source": "PARTIAL_PROMPT", "judgePrompt": JUDGE,
                    "evaluationParams": ["input", "actualOutput", "retrievalContext"], "evaluatorModelName": "GPT-4",
                    "tags": ["rag", "quality"], "description": "Sticks to sources",
                    "documentationUrl": "https://docs.example.com/faithfulness", "areEvalParamsTop": True,
                    "specificationIds": ["spec_1"], "userGroupIds": ["ug_1"]}
    assert metric["id"] == metric["metricGroupId"] and metric["legacyAt"] is None


RULES = [
    ({"source": "FULL_PROMPT"}, "use PARTIAL_PROMPT", "source"),
    ({"source": None, "evaluation_params": None}, "use source PARTIAL_PROMPT", "source"),
    ({"source": "GEVAL"}, "source must be one of SELF_HOSTED, PARTIAL_PROMPT, HUMAN_EVALUATION", "source"),
    ({"judge_prompt": None}, "needs a judge_prompt", "judge_prompt"),
    ({"documentation_url": "docs/faithfulness"}, "must be an http", "documentation_url"),
    ({"documentation_url": "ftp://x.org/a"}, "must be an http", "documentation_url"),
    ({"evaluation_params": ["input", "answer"]}, "unknown 'answer'", "evaluation_params"),
    ({"evaluation_params": ["input", "actualOutput", "retrieval_context"]}, "mixed", "evaluation_params"),
    ({"evaluation_params": ["input", "input"]}, "twice", "evaluation_params"),
    ({"evaluation_params": "input"}, "list of non-empty strings", "evaluation_params"),
    ({"name": "  "}, "name must be", "name"),
    ({"tags": "rag"}, "list of non-empty strings", "tags"),
    ({"eval_params_top": "yes"}, "True or False", "eval_params_top"),
]


@pytest.mark.parametrize(("kwargs", "message", "field"), RULES)
def test_rules_are_checked_before_sending(sandbox_env, sandbox, kwargs, message, field):
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError, match=message) as info:
        create(**kwargs)
    assert info.value.field == field
    assert sandbox.requests()[mark:] == []


def test_snake_case_params_are_sent_as_chosen_and_keep_order(sandbox_env, sandbox):
    create(evaluation_params=["retrieval_context", "input", "actual_output"])
    assert sandbox.received("galtea.metric")[-1]["body"]["evaluationParams"] == ["retrieval_context", "input", "actual_output"]


def test_self_hosted_and_human_sources(sandbox_env):
    assert create(source="SELF_HOSTED", judge_prompt=None)["source"] == "SELF_HOSTED"
    assert create(source="human_evaluation", judge_prompt=None)["source"] == "HUMAN_EVALUATION"


def test_revisions_join_the_family_and_turn_the_parent_legacy(sandbox_env):
    parent = create(name="Relevance")
    child = create(name="Relevance", judge_prompt="Stricter.", parent_metric_id=parent["id"])
    grandchild = create(name="Relevance", judge_prompt="Stricter still.", parent_metric_id=child["id"])
    assert child["metricGroupId"] == grandchild["metricGroupId"] == parent["id"]
    frame = orqmagic.list_metrics(names=["Relevance"], include_legacy=True)
    legacy = dict(zip(frame["id"], frame["legacy_at"].notna(), strict=True))
    assert legacy == {parent["id"]: True, child["id"]: True, grandchild["id"]: False}
    active = orqmagic.list_metrics(names=["Relevance"])
    assert list(active["id"]) == [grandchild["id"]]
    assert list(active.columns[:5]) == ["id", "name", "source", "evaluation_params", "metric_group_id"]  # snake_case
    assert str(active["created_at"].dtype) == "datetime64[ms, UTC]"


def test_server_errors_come_through(sandbox_env):
    with pytest.raises(orqmagic.NotFoundError, match="parent metric metric_nope not found"):
        create(parent_metric_id="metric_nope")


# -- MetricForm -----------------------------------------------------------------------------


def test_form_preview_is_exactly_what_is_sent(sandbox_env, sandbox):
    form = MetricForm()
    form.name.value = "Groundedness"
    form.judge_prompt.value = JUDGE
    form.evaluation_params.value = ["input", "actualOutput", "retrievalContext"]
    form.tags.value = ["rag"]
    form.documentation_url.value = "https://docs.example.com/g"
    form.specification_ids.value = "spec_1, spec_2"
    preview = json.loads(form.preview.value.removeprefix("<pre>").removesuffix("</pre>").replace("&quot;", '"'))
    created = form.create()
    assert sandbox.received("galtea.metric")[-1]["body"] == preview
    assert created["id"] in form.status.value and created["metricGroupId"] in form.status.value


def test_form_hides_prompt_fields_for_other_sources(sandbox_env, sandbox):
    form = MetricForm()
    form.name.value = "Human check"
    form.judge_prompt.value = "left over"
    form.source.value = "HUMAN_EVALUATION"
    assert form._prompt_fields.layout.display == "none"
    assert "judgePrompt" not in form.body()
    form.source.value = "PARTIAL_PROMPT"
    assert form._prompt_fields.layout.display == "flex"


def test_form_blocks_create_while_invalid_and_explains(sandbox_env, sandbox):
    form = MetricForm()
    form.name.value = "X"
    form.judge_prompt.value = ""
    assert form.create_button.disabled and "needs a judge_prompt" in form.preview.value
    form.documentation_url.value = "not a url"
    form.judge_prompt.value = "p"
    assert form.create_button.disabled and "documentation_url" in form.preview.value


def test_form_revision_picker_and_spelling(sandbox_env):
    parent = create(name="Coherence")
    form = MetricForm()
    assert parent["id"] in [v for _, v in form.revision_of.options[1:]]
    form.name.value = "Coherence"
    form.judge_prompt.value = "v2"
    form.revision_of.value = parent["id"]
    form.spelling.value = "snake_case"
    assert form.evaluation_params.value == ["input", "actual_output"]
    created = form.create()
    assert created["parentMetricId"] == parent["id"]
    assert orqmagic.GalteaClient().get_metric(parent["id"])["legacyAt"] is not None


def test_form_creates_once_clears_stale_status_and_names_bad_params(sandbox_env, sandbox):
    form = MetricForm()
    form.name.value = "Once"
    form.judge_prompt.value = "p"
    mark = len(sandbox.received("galtea.metric"))
    assert form.create() is not None
    assert form.create_button.disabled and "✅ created" in form.status.value
    assert form.create() is None and "already created" in form.status.value
    assert len(sandbox.received("galtea.metric")) == mark + 1  # Create twice makes one metric
    form.judge_prompt.value = ""
    assert form.status.value == "" and form.create_button.disabled  # no stale "created" under an invalid form
    form.judge_prompt.value = "p2"
    assert not form.create_button.disabled
    form.evaluation_params.value = ["input", "actualOutputt"]
    assert "actualOutputt" in form.preview.value and form.create_button.disabled  # refused, visibly
    assert "known: input, actualOutput" in form.params_hint.value
    assert form.tags.placeholder.startswith("type a tag") and form.judge_prompt.style.description_width == "110px"


def test_form_shows_server_error_inline(sandbox_env, sandbox):
    form = MetricForm()
    form.name.value = "Y"
    form.judge_prompt.value = "p"
    sandbox.set_faults("status=503,match=/metrics")
    assert form.create() is None
    assert "Galtea answered 503" in form.status.value


# -- %%metric ------------------------------------------------------------------------------

YAML_CELL = f"""name: Faithfulness
source: PARTIAL_PROMPT
evaluation_params: [input, actualOutput, retrievalContext]
judge_prompt: {JUDGE}
tags: [rag]
"""


def test_metric_magic_creates_from_yaml(ip, sandbox):
    ip.run_cell_magic("metric", "-o m", YAML_CELL)
    assert ip.user_ns["m"]["evaluationParams"] == ["input", "actualOutput", "retrievalContext"]
    assert sandbox.received("galtea.metric")[-1]["metric_id"] == ip.user_ns["m"]["id"]


def test_metric_magic_dry_run_sends_nothing(ip, sandbox, capsys):
    mark = len(sandbox.requests())
    ip.run_cell_magic("metric", "--dry-run", YAML_CELL)
    assert sandbox.requests()[mark:] == []
    assert '"judgePrompt"' in capsys.readouterr().out


def test_metric_magic_toml_and_wire_names(ip, sandbox):
    ip.run_cell_magic("metric", "--toml -o m", 'name = "Tone"\nsource = "HUMAN_EVALUATION"\ntags = ["style"]\n')
    assert ip.user_ns["m"]["source"] == "HUMAN_EVALUATION"
    ip.run_cell_magic("metric", "-o m2", "name: Tone2\nsource: PARTIAL_PROMPT\njudgePrompt: p\nevaluationParams: [input]\n")
    assert ip.user_ns["m2"]["judgePrompt"] == "p"


@pytest.mark.parametrize(("cell", "message"), [
    ("", "cell is empty"),
    ("name: [unclosed", "does not parse"),
    ("- a list", "must be a mapping"),
    ("name: X\nsource: FULL_PROMPT\njudge_prompt: p", "use PARTIAL_PROMPT"),
    ("name: X\njudge_prompt: p", "FULL_PROMPT"),
    ("name: X\nevaluation_params: [input]", "needs a source"),
    ("name: X\nsource: PARTIAL_PROMPT\ncolour: red", "unknown field 'colour'"),
    ("name: X\nsource: PARTIAL_PROMPT", "needs a judge_prompt"),
])
def test_metric_magic_bad_definitions(ip, sandbox, cell, message):
    mark = len(sandbox.requests())
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("metric", "", cell or " ")
    assert sandbox.requests()[mark:] == []
