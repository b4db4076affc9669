"""The bad-input table: across magics, the Python API and widgets, each bad input gives one clear
line and sends nothing (the sandbox sees no request)."""

import datetime as dt

import numpy as np
import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import OrqMagicError
from orqmagic.clients import AsyncOrqClient, BasetenClient, GalteaClient, OrqClient
from orqmagic.widgets import FeedbackPanel, MetricForm, MetricsPanel

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
NAN, INF = float("nan"), float("inf")
# Variables the magic rows name (a value naming a variable takes its value).
NAMESPACE = {"nanvar": NAN, "infvar": INF, "dtvar": dt.datetime(2026, 1, 1), "setvar": {1, 2}, "bytesvar": b"x",
             "df": None}


def looped() -> dict:
    loop: dict = {}
    loop["self"] = loop
    return loop


def feedback_without_id():
    return orqmagic.InvokeResult(text="partial", deployment="support-bot", id=None).feedback(50)


def magic_with_frame(line: str, cell: str):
    def run(ip):
        import pandas as pd

        ip.user_ns["df"] = pd.DataFrame({"q": ["a", "b"]})
        name, _, rest = line.partition(" ")
        return ip.run_cell_magic(name, rest, cell)
    return run


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
    # -- issue 11: feedback values that are not numbers, not JSON, or not finite -----------------
    ("score NaN", api(lambda: orqmagic.add_metrics(RID, score=NAN)), "score must be a whole number"),
    ("score inf", api(lambda: orqmagic.add_metrics(RID, score=INF)), "score must be a whole number"),
    ("score -inf", api(lambda: orqmagic.add_metrics(RID, score=-INF)), "score must be a whole number"),
    ("score numpy 50.5", api(lambda: orqmagic.add_metrics(RID, score=np.float64(50.5))), "score must be a whole number"),
    ("score numpy 101", api(lambda: orqmagic.add_metrics(RID, score=np.int64(101))), "score must be from 0 to 100"),
    ("score '90'", api(lambda: orqmagic.add_metrics(RID, score="90")), "score must be a whole number"),
    ("score [90]", api(lambda: orqmagic.add_metrics(RID, score=[90])), "score must be a whole number"),
    ("score 1e300", api(lambda: orqmagic.add_metrics(RID, score=1e300)), "score must be from 0 to 100"),
    ("usage prompt NaN", api(lambda: orqmagic.add_metrics(RID, usage={"prompt_tokens": NAN, "completion_tokens": 1})), "usage needs prompt_tokens"),
    ("usage completion inf", api(lambda: orqmagic.add_metrics(RID, usage={"prompt_tokens": 1, "completion_tokens": INF})), "usage needs completion_tokens"),
    ("usage total NaN", api(lambda: orqmagic.add_metrics(RID, usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": NAN})), "usage.total_tokens is nan"),
    ("usage not a dict", api(lambda: orqmagic.add_metrics(RID, usage="many")), "usage must be a dict"),
    ("usage with a datetime", api(lambda: orqmagic.add_metrics(RID, usage={"prompt_tokens": 1, "completion_tokens": 1, "at": dt.datetime.now()})), "cannot be sent as JSON"),
    ("performance latency NaN", api(lambda: orqmagic.add_metrics(RID, performance={"latency": NAN})), "performance needs latency"),
    ("performance latency inf", api(lambda: orqmagic.add_metrics(RID, performance={"latency": INF})), "performance needs latency"),
    ("performance ttft -1", api(lambda: orqmagic.add_metrics(RID, performance={"latency": 1, "time_to_first_token": -1})), "performance needs time_to_first_token"),
    ("performance with a set", api(lambda: orqmagic.add_metrics(RID, performance={"latency": 1, "tags": {1}})), "holds a set"),
    ("metadata NaN", api(lambda: orqmagic.add_metrics(RID, score=1, metadata={"x": NAN})), "metadata.x is nan"),
    ("metadata datetime", api(lambda: orqmagic.add_metrics(RID, score=1, metadata={"at": dt.datetime.now()})), "holds a datetime"),
    ("metadata bytes", api(lambda: orqmagic.add_metrics(RID, score=1, metadata={"b": b"x"})), "holds a bytes"),
    ("metadata int key", api(lambda: orqmagic.add_metrics(RID, score=1, metadata={1: "a"})), "not a string"),
    ("metadata contains itself", api(lambda: orqmagic.add_metrics(RID, score=1, metadata=looped())), "nests deeper"),
    ("messages not a list", api(lambda: orqmagic.add_metrics(RID, messages="hi")), "messages must be a list"),
    ("choices bad role", api(lambda: orqmagic.add_metrics(RID, choices=[{"role": "bot", "content": "x"}])), "role must be one of"),
    ("feedback without a response id", api(feedback_without_id), "has no response id"),
    # -- ids that could reach another path --------------------------------------------------------
    ("response id ../invoke", api(lambda: orqmagic.add_metrics("../invoke", score=1)), "without '/'"),
    ("response id abc?x=1", api(lambda: orqmagic.add_metrics("abc?x=1", score=1)), "without '/', '?'"),
    ("response id with #", api(lambda: orqmagic.add_metrics("abc#x", score=1)), "must be a non-empty id without"),
    ("response id with %2F", api(lambda: orqmagic.add_metrics("a%2Fb", score=1)), "must be a non-empty id without"),
    ("response id with a space", api(lambda: orqmagic.add_metrics("a b", score=1)), "must be a non-empty id without"),
    ("response id ..", api(lambda: orqmagic.add_metrics("..", score=1)), "must be a non-empty id without"),
    ("response id with a newline", api(lambda: orqmagic.add_metrics("a\nb", score=1)), "must be a non-empty id without"),
    ("response id an int", api(lambda: orqmagic.add_metrics(123, score=1)), "must be a non-empty id string"),
    ("response id None", api(lambda: orqmagic.add_metrics(None, score=1)), "must be a non-empty id string"),
    ("client add_metrics ../x", api(lambda: OrqClient().add_metrics("../x", score=1)), "without '/'"),
    ("Baseten model ../x", api(lambda: BasetenClient().list_deployments("../x")), "model_id must be a non-empty id"),
    ("Baseten deployment prod?x=1", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod?x=1")), "deployment_id must be a non-empty id"),
    ("Baseten model empty", api(lambda: orqmagic.fetch_metrics("", "prod-v3")), "model_id must be a non-empty id"),
    ("Galtea metric ../x", api(lambda: GalteaClient().get_metric("../x")), "metric id must be a non-empty id"),
    ("Galtea metric a?b", api(lambda: GalteaClient().get_metric("a?b")), "metric id must be a non-empty id"),
    # -- invoke: timeouts, values JSON cannot carry, empty ids -----------------------------------
    ("invoke timeout -1", api(lambda: orqmagic.invoke("support-bot", "hi", timeout=-1, display=False)), "timeout must be"),
    ("invoke timeout 0", api(lambda: orqmagic.invoke("support-bot", "hi", timeout=0, display=False)), "timeout must be"),
    ("invoke timeout NaN", api(lambda: orqmagic.invoke("support-bot", "hi", timeout=NAN, display=False)), "timeout must be"),
    ("invoke timeout '10'", api(lambda: orqmagic.invoke("support-bot", "hi", timeout="10", display=False)), "timeout must be"),
    ("client timeout -1", api(lambda: OrqClient(timeout=-1)), "timeout must be"),
    ("client stream_timeout inf", api(lambda: OrqClient(stream_timeout=INF)), "stream_timeout must be"),
    ("async client timeout 0", api(lambda: AsyncOrqClient(timeout=0)), "timeout must be"),
    ("invoke inputs NaN", api(lambda: orqmagic.invoke("support-bot", inputs={"x": NAN}, display=False)), "inputs.x is nan"),
    ("invoke inputs inf", api(lambda: orqmagic.invoke("support-bot", inputs={"x": INF}, display=False)), "inputs.x is inf"),
    ("invoke inputs datetime", api(lambda: orqmagic.invoke("support-bot", inputs={"x": dt.date.today()}, display=False)), "holds a date"),
    ("invoke inputs set", api(lambda: orqmagic.invoke("support-bot", inputs={"x": {1}}, display=False)), "holds a set"),
    ("invoke inputs nested NaN", api(lambda: orqmagic.invoke("support-bot", inputs={"x": [1, {"y": NAN}]}, display=False)), "inputs.x[1].y is nan"),
    ("invoke metadata object", api(lambda: orqmagic.invoke("support-bot", "hi", metadata={"o": object()}, display=False)), "holds a object"),
    ("invoke extra_params NaN", api(lambda: orqmagic.invoke("support-bot", "hi", extra_params={"temperature": NAN}, display=False)), "extra_params.temperature is nan"),
    ("invoke context not a dict", api(lambda: orqmagic.invoke("support-bot", "hi", context=["a"], display=False)), "context must be a dict"),
    ("invoke thread ''", api(lambda: orqmagic.invoke("support-bot", "hi", thread="", display=False)), "thread must be an id string (not empty)"),
    ("invoke thread id blank", api(lambda: orqmagic.invoke("support-bot", "hi", thread={"id": "  "}, display=False)), "thread must be an id string (not empty)"),
    ("invoke identity ''", api(lambda: orqmagic.invoke("support-bot", "hi", identity="", display=False)), "identity must be an id string (not empty)"),
    ("invoke file_ids ints", api(lambda: orqmagic.invoke("support-bot", "hi", file_ids=[1], display=False)), "file_ids must be a list of strings"),
    ("invoke documents without text", api(lambda: orqmagic.invoke("support-bot", "hi", documents=[{"x": 1}], display=False)), "documents must be a list of dicts"),
    ("batch concurrency -1", api(lambda: orqmagic.invoke_many("support-bot", [{"q": "x"}], concurrency=-1)), "concurrency must be"),
    ("batch concurrency '8'", api(lambda: orqmagic.invoke_many("support-bot", [{"q": "x"}], concurrency="8")), "concurrency must be"),
    ("batch rows a string", api(lambda: orqmagic.invoke_many("support-bot", "rows")), "rows must be a DataFrame"),
    ("batch no rows", api(lambda: orqmagic.invoke_many("support-bot", [])), "no rows to run"),
    ("batch shared metadata NaN", api(lambda: orqmagic.invoke_many("support-bot", [{"q": "x"}], metadata={"m": NAN})), "metadata.m is nan"),
    # -- keys ---------------------------------------------------------------------------------------
    ("api_key bytes", api(lambda: OrqClient(api_key=b"sk-x")), "must be a str, got bytes"),
    ("api_key with a newline", api(lambda: OrqClient(api_key="sk-a\nb")), "control character"),
    ("api_key with a space", api(lambda: GalteaClient(api_key="sk a")), "has a space"),
    # -- Baseten windows: bounded work ------------------------------------------------------------
    ("start in epoch seconds", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=1_700_000_000)), "looks like epoch seconds"),
    ("start numpy epoch seconds", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=np.int64(1_700_000_000))), "looks like epoch seconds"),
    ("start 0", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=0)), "from the year 2000"),
    ("start -1", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=-1)), "from the year 2000"),
    ("start -1e300", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=-1e300)), "from the year 2000"),
    ("start NaN", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=NAN)), "must be a finite epoch"),
    ("end inf", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", end=INF)), "must be a finite epoch"),
    ("end year 9999 (text)", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", end="9999-01-01")), "in the future"),
    ("end year 9999 (datetime)", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", end=dt.datetime(9999, 1, 1))), "in the future"),
    ("start in 2099", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start="2099-01-01", end="2099-01-02")), "in the future"),
    ("end in 2100 (ms)", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", end=4_102_444_800_000)), "in the future"),
    ("start True", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=True)), "must be a time"),
    ("window of 500 days", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start="500d")), "pass max_requests=72"),
    ("duration of a googol days", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start="9" * 30 + "d")), "longer than a century"),
    ("timedelta of a million days", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start=dt.timedelta(days=10**6))), "longer than a century"),
    ("max_requests 0", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start="1h", max_requests=0)), "max_requests must be"),
    ("mode WEEKLY", api(lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="WEEKLY")), "mode must be one of"),
    # -- Galtea definitions -----------------------------------------------------------------------
    ("create_metric source None", api(lambda: orqmagic.create_metric("x", source=None)), "source is required"),
    ("create_metric source ''", api(lambda: orqmagic.create_metric("x", source="")), "source is required"),
    ("create_metric empty evaluation_params", api(lambda: orqmagic.create_metric("x", source="SELF_HOSTED", evaluation_params=[])), "evaluation_params is empty"),
    ("create_metric empty evaluation_params (partial)", api(lambda: orqmagic.create_metric("x", source="PARTIAL_PROMPT", judge_prompt="p", evaluation_params=[])), "evaluation_params is empty"),
    ("create_metric blank name", api(lambda: orqmagic.create_metric(" ", source="SELF_HOSTED")), "name must be a non-empty"),
    ("create_metric blank judge prompt", api(lambda: orqmagic.create_metric("x", source="PARTIAL_PROMPT", judge_prompt="  ")), "judge_prompt must be non-empty"),
    ("create_metric unknown source", api(lambda: orqmagic.create_metric("x", source="MAGIC")), "source must be one of"),
    # -- magics: output names checked before sending; values JSON cannot carry ---------------------
    ("%%invoke -o 1bad", magic("invoke support-bot -o 1bad", "hi"), "-o needs a variable name"),
    ("%%invoke -o class", magic("invoke support-bot -o class", "hi"), "-o needs a variable name"),
    ("%%invoke -o a-b", magic("invoke support-bot -o a-b", "hi"), "-o needs a variable name"),
    ("%%invoke --over -o 1bad", magic_with_frame("invoke support-bot --over df -o 1bad", "{{q}}"), "-o needs a variable name"),
    ("%baseten_metrics -o 1bad", magic("baseten_metrics llama-chat prod-v3 -o 1bad"), "-o needs a variable name"),
    ("%%metric -o 9x", magic("metric -o 9x", "name: x\nsource: SELF_HOSTED"), "-o needs a variable name"),
    ("%%invoke --inputs NaN variable", magic("invoke support-bot --inputs v=nanvar", "hi"), "inputs.v is nan"),
    ("%%invoke --inputs inf variable", magic("invoke support-bot --inputs v=infvar", "hi"), "inputs.v is inf"),
    ("%%invoke --inputs datetime variable", magic("invoke support-bot --inputs v=dtvar", "hi"), "holds a datetime"),
    ("%%invoke --inputs set variable", magic("invoke support-bot --inputs v=setvar", "hi"), "holds a set"),
    ("%%invoke --inputs bytes variable", magic("invoke support-bot --inputs v=bytesvar", "hi"), "holds a bytes"),
    ("%%invoke --metadata NaN variable", magic("invoke support-bot --metadata m=nanvar", "hi"), "metadata.m is nan"),
    ("%%invoke --metadata datetime variable", magic("invoke support-bot --metadata m=dtvar", "hi"), "holds a datetime"),
    ("%%invoke --context set variable", magic("invoke support-bot --context c=setvar", "hi"), "holds a set"),
    ("%%invoke --extra-params NaN JSON", magic("invoke support-bot --extra-params '{\"temperature\": NaN}'", "hi"), "is nan"),
    ("%%invoke --thread ''", magic("invoke support-bot --thread ''", "hi"), "thread must be an id string (not empty)"),
    ("%%invoke --identity ''", magic("invoke support-bot --identity ''", "hi"), "identity must be an id string (not empty)"),
    ("%%invoke --chat only a system turn", magic("invoke support-bot --chat", "system:\nYou are terse."), "needs a user: turn"),
    ("%%invoke --chat system and assistant", magic("invoke support-bot --chat", "system:\nterse\nassistant:\nhello"), "needs a user: turn"),
    ("%%invoke --file-ids ','", magic("invoke support-bot --file-ids ,", "hi"), "no ids given"),
    ("%%invoke --documents without text", magic("invoke support-bot --documents '[{\"x\": 1}]'", "hi"), "documents must be a list of dicts"),
    ("%%invoke --over concurrency 0", magic_with_frame("invoke support-bot --over df --concurrency 0", "{{q}}"), "concurrency must be"),
    ("%baseten_metrics --last googol days", magic("baseten_metrics llama-chat prod-v3 --last " + "9" * 30 + "d"), "longer than a century"),
    ("%baseten_metrics --last 500d", magic("baseten_metrics llama-chat prod-v3 --last 500d"), "pass max_requests=72"),
    ("%baseten_metrics --start epoch seconds", magic("baseten_metrics llama-chat prod-v3 --start 1700000000"), "looks like epoch seconds"),
    ("%baseten_metrics --start 0", magic("baseten_metrics llama-chat prod-v3 --start 0"), "from the year 2000"),
    ("%baseten_metrics --end 9999", magic("baseten_metrics llama-chat prod-v3 --end 9999-01-01"), "in the future"),
    ("%baseten_metrics --start 2099", magic("baseten_metrics llama-chat prod-v3 --start 2099-01-01 --end 2099-01-02"), "in the future"),
    ("%baseten_metrics model ../x", magic("baseten_metrics ../x prod-v3"), "model_id must be a non-empty id"),
    ("%baseten_metrics deployment prod?x=1", magic("baseten_metrics llama-chat prod?x=1"), "deployment_id must be a non-empty id"),
    ("%%metric source null", magic("metric", "name: x\nsource: null"), "needs a source"),
    ("%%metric empty evaluation_params", magic("metric", "name: x\nsource: SELF_HOSTED\nevaluation_params: []"), "evaluation_params is empty"),
    ("%orq flush with an argument", magic("orq flush now"), "wrong arguments"),
    ("%orq login without a service", magic("orq login"), "wrong arguments"),
    # -- widgets ------------------------------------------------------------------------------------
    ("FeedbackPanel id ../invoke", panel_error(lambda: _sent(FeedbackPanel("../invoke"))), "must be a non-empty id without"),
    ("FeedbackPanel id abc?x=1", panel_error(lambda: _sent(FeedbackPanel("abc?x=1"))), "must be a non-empty id without"),
]


def _sent(panel):
    panel.send()
    return panel


def sent_requests(sandbox) -> list[dict]:
    """Requests that carry the bad input: every write, and Baseten metrics reads (pickers' lookups do not count)."""
    return [r for r in sandbox.requests() if r["method"] != "GET" or (r["path"].startswith("/v1/models/") and r["path"].endswith("/metrics"))]


def test_the_table_is_large_enough():
    assert len(TABLE) >= 120
    assert len({row[0] for row in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("case", "run", "message"), TABLE, ids=[row[0] for row in TABLE])
def test_bad_input(ip, sandbox, case, run, message):
    ip.user_ns["x"] = 1
    ip.user_ns.update(NAMESPACE)
    mark = len(sent_requests(sandbox))
    with pytest.raises((UsageError, OrqMagicError)) as info:
        run(ip)
    text = str(info.value)
    assert "\n" not in text.strip(), f"not one line: {text!r}"
    if message is not None:
        assert message in text
    assert sent_requests(sandbox)[mark:] == [], f"{case}: something was sent"
