"""The bad-input table: across magics, the Python API and widgets, each bad input gives one clear
line and sends nothing (the sandbox sees no request)."""

import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import OrqMagicError
from orqmagic.widgets import FeedbackPanel, MetricForm, MetricsPanel

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def magic(line: str, cell: str | None = None):
    def run(ip):
        name, _, rest = line.partition(" ")
        if cell is None:
            return ip.run_line_magic(name, rest)
        return ip.run_cell_magic(name, rest, cell)
    return run


def api(fn):
    return lambda ip: fn()


def panel_error(build):
    """Widgets report errors inside themselves; surface them as an exception for the table."""
    def run(ip):
        widget = build()
        error = getattr(widget, "error", None) or ("⚠" in getattr(widget, "status", type("", (), {"value": ""})).value and widget.status.value)
        raise OrqMagicError(str(error))
    return run


def metric_form(**values):
    def build():
        form = MetricForm()
        for name, value in values.items():
            getattr(form, name).value = value
        form.create()
        return form
    return build


def metrics_panel(**values):
    def build():
        panel = MetricsPanel(autoload=False)
        panel.load_models()
        for name, value in values.items():
            getattr(panel, name).value = value
        panel.refresh(wait=True)
        return panel
    return build


TABLE = [
    # Python API: feedback
    ("score 101", api(lambda: orqmagic.add_metrics(RID, score=101)), "score must be from 0 to 100"),
    ("score 50.5", api(lambda: orqmagic.add_metrics(RID, score=50.5)), "score must be a whole number"),
    ("score 'abc'", api(lambda: orqmagic.add_metrics(RID, score="abc")), "score must be a whole number"),
    ("usage without completion", api(lambda: orqmagic.add_metrics(RID, usage={"prompt_tokens": 1})), "usage needs completion_tokens"),
    ("performance without latency", api(lambda: orqmagic.add_metrics(RID, performance={})), "performance needs latency"),
    ("empty response id", api(lambda: orqmagic.add_metrics("", score=1)), "response id must be a non-empty"),
    # Python API: Baseten
    ("8-day window (client)", api(lambda: orqmagic.BasetenClient().deployment_metrics("llama-chat", "prod-v3", mode="SERIES", start=0, end=8 * 86_400_000)), "must not exceed 7 days"),
    ("8-day SUMMARY", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="SUMMARY", start="8d")), "SUMMARY covers at most 7 days"),
    ("CURRENT with start", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="CURRENT", start="1h")), "CURRENT mode is a snapshot"),
    ("unknown metric", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", ["baseten_gpu_utilisation"])), "did you mean baseten_gpu_utilization"),
    ("end before start", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start="1h", end="2h")), "end must be after start"),
    ("model id with a slash", api(lambda: orqmagic.BasetenClient().list_deployments("a/b")), "model_id must be a non-empty id"),
    # Python API: Galtea
    ("FULL_PROMPT", api(lambda: orqmagic.create_metric("x", source="FULL_PROMPT", judge_prompt="p")), "use PARTIAL_PROMPT"),
    ("implicit FULL_PROMPT", api(lambda: orqmagic.GalteaClient().create_metric("x", judge_prompt="p")), "use source PARTIAL_PROMPT"),
    ("PARTIAL_PROMPT without judge", api(lambda: orqmagic.create_metric("x", source="PARTIAL_PROMPT", evaluation_params=["input"])), "needs a judge_prompt"),
    ("documentation URL", api(lambda: orqmagic.create_metric("x", source="SELF_HOSTED", documentation_url="docs")), "must be an http"),
    ("unknown evaluation param", api(lambda: orqmagic.create_metric("x", source="SELF_HOSTED", evaluation_params=["vibes"])), "unknown 'vibes'"),
    # Python API: invoke and batches
    ("invoke with no prompt", api(lambda: orqmagic.invoke("support-bot", "", display=False)), "nothing to send"),
    ("invoke with a bad format", api(lambda: orqmagic.invoke("support-bot", "hi", fmt="html")), "format must be markdown"),
    ("invoke with a bad role", api(lambda: orqmagic.invoke("support-bot", messages=[{"role": "robot", "content": "x"}])), "role must be one of"),
    ("invoke with an empty key", api(lambda: orqmagic.invoke(" ", "hi", display=False)), "deployment key must be"),
    ("batch concurrency 0", api(lambda: orqmagic.invoke_many("support-bot", [{"q": "x"}], concurrency=0)), "concurrency must be"),
    ("batch unknown column", api(lambda: orqmagic.invoke_many("support-bot", [{"q": "x"}], prompt="{{question}}")), "no variable named 'question'"),
    # Magics
    ("%%invoke empty cell", magic("invoke support-bot", "  "), "the cell is empty"),
    ("%%invoke malformed --inputs", magic("invoke support-bot --inputs 'not valid'", "hi"), "expected key=value pairs"),
    ("%%invoke unknown {{name}}", magic("invoke support-bot --interpolate", "hi {{nobody}}"), "no variable named 'nobody'"),
    ("%%invoke bad --format", magic("invoke support-bot --format html", "hi"), "invalid choice"),
    ("%%invoke no deployment", magic("invoke -o x", "hi"), "name a deployment"),
    ("%%invoke unbalanced quote", magic("invoke support-bot --system 'oops", "hi"), "cannot read the options"),
    ("%%invoke --over unknown", magic("invoke support-bot --over nothing_here", "{{q}}"), "no variable named 'nothing_here'"),
    ("%invoke --messages not a list", magic("invoke support-bot --messages 42"), "expected a list"),
    ("%baseten_metrics bad duration", magic("baseten_metrics llama-chat prod-v3 --last fortnight"), "cannot read"),
    ("%baseten_metrics CURRENT with start", magic("baseten_metrics llama-chat prod-v3 --mode current --start 1h"), "CURRENT mode is a snapshot"),
    ("%%metric FULL_PROMPT", magic("metric", "name: x\nsource: FULL_PROMPT\njudge_prompt: p"), "use PARTIAL_PROMPT"),
    ("%%metric bad YAML", magic("metric", "name: [oops"), "does not parse"),
    ("%orq unknown command", magic("orq teleport"), "unknown %orq command"),
    ("%orq login unknown service", magic("orq login openai"), "login takes one of"),
    # Widgets
    ("FeedbackPanel without an id", api(lambda: FeedbackPanel(None)), "needs an InvokeResult with an id"),
    ("MetricForm FULL-PROMPT-like", panel_error(metric_form(name="x", judge_prompt="")), "needs a judge_prompt"),
    ("MetricForm bad URL", panel_error(metric_form(name="x", judge_prompt="p", documentation_url="nope")), "documentation_url"),
    ("MetricsPanel bad custom start", panel_error(metrics_panel(window="custom", start="whenever")), "cannot read 'whenever'"),
]


def sent_requests(sandbox) -> list[dict]:
    """Requests that carry the bad input: every write, and Baseten metrics reads (pickers' lookups do not count)."""
    return [r for r in sandbox.requests() if r["method"] != "GET" or (r["path"].startswith("/v1/models/") and r["path"].endswith("/metrics"))]


def test_the_table_is_large_enough():
    assert len(TABLE) >= 30


@pytest.mark.parametrize(("case", "run", "message"), TABLE, ids=[row[0] for row in TABLE])
def test_bad_input(ip, sandbox, case, run, message):
    ip.user_ns["x"] = 1
    mark = len(sent_requests(sandbox))
    with pytest.raises((UsageError, OrqMagicError)) as info:
        run(ip)
    text = str(info.value)
    assert "\n" not in text.strip(), f"not one line: {text!r}"
    if message is not None:
        assert message in text
    assert sent_requests(sandbox)[mark:] == [], f"{case}: something was sent"
