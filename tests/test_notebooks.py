"""Every notebook in notebooks/ runs top to bottom against the sandbox, and shows what it promises."""

import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KEYLIKE = re.compile(r"(sk-[A-Za-z0-9]{8,}|gsk_[A-Za-z0-9]{6,}|Bearer [A-Za-z0-9._-]{12,}|sbx_[A-Za-z0-9_-]{8,})")


def execute(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return notebook


def outputs_of(notebook, startswith: str) -> list:
    cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(startswith))
    return cell.outputs


def mimes(outputs) -> set[str]:
    return {mime for out in outputs for mime in out.get("data", {})}


def test_all_notebooks_are_committed_clean_and_without_secrets():
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["01-quickstart.ipynb", "02-prompt-exploration.ipynb", "03-baseten-metrics.ipynb", "04-evaluation.ipynb",
                     "05-judges.ipynb"]
    for name in names:
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(notebook)
        assert notebook.cells[0].cell_type == "markdown", f"{name} should open with an explanation"
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), f"{name} has outputs"
        assert not KEYLIKE.search((NOTEBOOKS / name).read_text()), f"{name} holds a key-like string"


def test_quickstart(sandbox_env, sandbox):
    notebook = execute("01-quickstart.ipynb")
    status = outputs_of(notebook, "%load_ext orqmagic")
    assert "key: set ($ORQ_API_KEY)" in status[0].data["text/plain"]
    answer = outputs_of(notebook, "%%invoke")
    assert len(answer) == 1 and 'class="orqmagic-heading"' in answer[0].data["text/markdown"]
    assert "Rotate Api Key" in answer[0].data["text/markdown"] and "## Rotate" not in answer[0].data["text/markdown"]
    printed = outputs_of(notebook, 'print("complete:"')[0].text
    assert "complete: True" in printed and "first line: ## Rotate Api Key" in printed
    assert "Receipt(sent" in outputs_of(notebook, "answer.feedback")[0].data["text/plain"]
    response_id = re.search(r"id (\w{26})", answer[0].data["text/markdown"]).group(1)
    scores = [r["body"].get("feedback") for r in sandbox.received("orq.metrics") if r["transaction_id"] == response_id]
    assert {"score": 90} in scores


def test_prompt_exploration(sandbox_env):
    notebook = execute("02-prompt-exploration.ipynb")
    greeting = outputs_of(notebook, "%%invoke support-bot --inputs")[0].data["text/markdown"]
    assert "- **customer**: Ada Lovelace" in greeting and "- **plan**: gold" in greeting
    assert outputs_of(notebook, "print(filled")[0].text.startswith('You asked: *Explain orq.ai webhooks. The payload looks like {"event": "deploy"}.')
    rag = outputs_of(notebook, "%%invoke rag-bot")[0].data["text/markdown"]  # --format json: a JSON block + footer
    assert "\n```json\n" in rag and "<sub>rag-bot · " in rag
    assert "<details><summary>Reasoning</summary>" in outputs_of(notebook, "%%invoke reasoner")[0].data["text/markdown"]
    assert "get_weather" in outputs_of(notebook, 'tool.tool_calls')[0].data["text/plain"]
    pair = outputs_of(notebook, "%%invoke support-bot summarizer")
    assert len(pair) == 1 and pair[0].data["text/markdown"].count('class="orqmagic-column"') == 2
    assert "summarizer" in outputs_of(notebook, "pair.to_frame()")[0].data["text/plain"]
    temps = outputs_of(notebook, "%%invoke support-bot --variants")[0].data["text/markdown"]
    assert all(f"**t={t}**" in temps for t in ("0.0", "0.7", "1.2"))
    prefer = outputs_of(notebook, "print(temps.diff")
    assert "identical" in prefer[0].text and prefer[1].data["text/plain"].count("Receipt(sent") == 3
    error = outputs_of(notebook, "%%invoke no-such-deployment")
    assert [o.output_type for o in error] == ["error"]
    assert len(error[0].traceback) == 1 and "Deployment with key 'no-such-deployment' not found" in error[0].traceback[0]


def test_baseten_metrics(sandbox_env):
    notebook = execute("03-baseten-metrics.ipynb")
    assert "image/png" in mimes(outputs_of(notebook, "df = orqmagic.fetch_metrics"))
    assert "text/html" in mimes(outputs_of(notebook, "df.head"))
    assert "2 requests, 241 hourly steps" in outputs_of(notebook, "ten_days")[0].text
    assert "application/vnd.jupyter.widget-view+json" in mimes(outputs_of(notebook, "panel = "))
    rows, columns = json.loads(outputs_of(notebook, "panel.df.shape")[0].data["text/plain"].replace("(", "[").replace(")", "]"))
    assert rows > 0 and columns == 9
    assert "image/png" in mimes(outputs_of(notebook, "%baseten_metrics"))


def test_evaluation(sandbox_env, sandbox):
    notebook = execute("04-evaluation.ipynb")
    table = outputs_of(notebook, "cases = pd.DataFrame")[-1].data["text/plain"]  # after the progress bar
    assert "billing" in table and "teams" in table
    assert "image/png" in mimes(outputs_of(notebook, "orqmagic.plot_batch"))
    assert "sent       6" in outputs_of(notebook, 'results["score"]')[0].data["text/plain"]
    created = [r["body"]["name"] for r in sandbox.received("galtea.metric")]
    assert {"Faithfulness", "Tone"} <= set(created)
    assert "Relevance" not in created[-3:]  # the dry run sent nothing
    family = outputs_of(notebook, "revision = ")[0].data["text/plain"]
    assert family.count("metric_") >= 4
    # repeatable runs: 3 trials per case, resumed without sending, a confidence interval, a cached replay
    assert "trial" in outputs_of(notebook, "evaluation = orqmagic.invoke_many")[-1].data["text/plain"]
    assert "{'resumed': 18, 'cached': 0, 'sent': 0}" in outputs_of(notebook, "resumed = ")[-1].data["text/plain"]
    summary = outputs_of(notebook, "orqmagic.summarize(evaluation)")[0].data["text/plain"]
    assert "latency_ms_mean" in summary and "mean, 95% CI" in summary and "agreement" in summary
    assert "estimated_cost" in summary
    replayed = outputs_of(notebook, "%%invoke support-bot --cache")
    assert len(replayed) == 1 and "cached (from" in replayed[0].data["text/markdown"]
    assert "support-eval" in outputs_of(notebook, "orqmagic.runs()")[0].data["text/plain"]


def test_judges(sandbox_env, sandbox):
    notebook = execute("05-judges.ipynb")
    created = [r for r in sandbox.received("galtea.metric") if r["body"]["name"] == "Correctness"]
    assert created and created[-1]["body"]["source"] == "PARTIAL_PROMPT"
    judged = outputs_of(notebook, "results = orqmagic.invoke_many")[-1].data["text/plain"]
    assert "expected words appear in the answer" in judged and "score" in judged
    feedback = outputs_of(notebook, 'judged.attrs["judge"]["feedback"]')[0].data["text/plain"]
    assert "'sent': 12" in feedback
    scores = [r for r in sandbox.received("orq.metrics") if r["body"].get("metadata", {}).get("source") == "llm"]
    assert len({r["transaction_id"] for r in scores}) == len(scores) >= 12  # each judged answer once
    assert "score_mean" in outputs_of(notebook, "orqmagic.summarize(judged)")[0].data["text/plain"]
    duel = outputs_of(notebook, "terse = orqmagic.invoke_many")[-1]
    assert "thorough beats terse on" in duel.data["text/html"] and "flipped with order" in duel.data["text/plain"]
    assert "<details>" in duel.data["text/html"] and "Mean score thorough − terse" in duel.data["text/plain"]
    sentence = outputs_of(notebook, "print(duel.sentence)")[0].text
    assert sentence.startswith("thorough beats terse on ") and ("p = " in sentence or "p < " in sentence)
    cell_duel = outputs_of(notebook, "%%invoke summarizer support-bot --over cases --pairwise")[-1]
    assert "summarizer (A) vs support-bot (B)" in cell_duel.data["text/plain"]
    scored = outputs_of(notebook, "%%invoke summarizer support-bot --over cases --judge")[-1]
    assert "Correctness per deployment" in scored.data["text/plain"] and "score_mean" in scored.data["text/html"]


@pytest.mark.parametrize("name", ["01-quickstart.ipynb"])
def test_notebook_runs_on_the_embedded_sandbox_with_no_configuration(name, monkeypatch):
    """A fresh machine: no keys, no URLs. The notebook starts its own sandbox and says so."""
    monkeypatch.setenv("ORQMAGIC_SANDBOX_TOKEN_RATE", "0")
    notebook = execute(name)
    assert "sandbox (simulated)" in outputs_of(notebook, "%load_ext orqmagic")[0].data["text/plain"]
    assert "sandbox (simulated)" in outputs_of(notebook, "%%invoke")[0].data["text/markdown"]


def test_judges_review_section(sandbox_env, sandbox):
    started = time.time()  # test_judges runs this notebook too, on the same sandbox: count this run's sends only
    notebook = execute("05-judges.ipynb")
    widget, saved = outputs_of(notebook, "helpfulness = ")
    assert "application/vnd.jupyter.widget-view+json" in widget.data
    assert "3 of 6 scored" in saved.data["text/html"] and "Helpfulness" in saved.data["text/html"]  # updated after
    assert saved.data["text/plain"] == "ReviewQueue '05-judges-review': 3 of 6 scored · Helpfulness 1: 0, 2: 1, 3: 0, 4: 1, 5: 1"
    scores = outputs_of(notebook, "queue.record(")[0].data["text/plain"]
    assert "clear, correct steps" in scores and "misses the refund window" in scores
    agreement = outputs_of(notebook, 'relevance = ')[-1].data["text/plain"]
    assert "3 cases both scored" in agreement and "Spearman's rho" in agreement
    sent = [r for r in sandbox.received("orq.metrics") if r["time"] >= started and (r["body"].get("metadata") or {}).get("review") == "05-judges-review"]
    assert sorted(r["body"]["metadata"]["value"] for r in sent) == [2, 4, 5]

