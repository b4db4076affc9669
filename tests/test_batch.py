"""invoke_many against the sandbox: order, isolation of failures, rate limits, interrupts, the magic."""

import _thread

import pandas as pd
import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import ValidationError
from orqmagic.clients import OrqClient
from orqmagic.evaluation.batch import RESULT_COLUMNS


def expected_text(sandbox, prompt: str) -> str:
    return OrqClient(base_url=sandbox.url, api_key=sandbox.key).invoke(
        "support-bot", messages=[{"role": "user", "content": prompt}])["choices"][0]["message"]["content"]


@pytest.fixture
def questions():
    return pd.DataFrame({"topic": ["billing", "refunds", "keys", "quotas", "exports", "teams"], "tier": ["gold", "free"] * 3})


def test_results_keep_row_order_and_columns(sandbox_env, sandbox, questions):
    results = orqmagic.invoke_many("support-bot", questions, prompt="Tell me about {{topic}} on the {{tier}} plan",
                                   concurrency=3, progress=False)
    assert list(results.columns) == ["topic", "tier", *RESULT_COLUMNS]
    assert list(results["topic"]) == list(questions["topic"])
    for topic, tier, text in zip(results["topic"], results["tier"], results["text"], strict=True):
        assert text == expected_text(sandbox, f"Tell me about {topic} on the {tier} plan")
    assert results["error"].isna().all() and results["id"].str.len().eq(26).all()
    assert (results["ttft_ms"] <= results["latency_ms"]).all() and (results["completion_tokens"] > 0).all()
    assert results.attrs["interrupted"] is False


def test_columns_become_inputs(sandbox_env, questions):
    results = orqmagic.invoke_many("summarizer", questions, inputs_from=["topic"], progress=False)
    assert all(f"- **topic**: {t}" in text for t, text in zip(results["topic"], results["text"], strict=True))
    assert "**tier**" not in results["text"].iloc[0]


def test_list_of_dicts_and_all_columns_as_inputs(sandbox_env):
    results = orqmagic.invoke_many("summarizer", [{"text": "a long memo"}, {"text": "a short note"}], progress=False)
    assert list(results["input_text"]) == ["a long memo", "a short note"]
    assert list(results["text"].str.contains("- \\*\\*text\\*\\*: a long memo")) == [True, False]


def test_failed_rows_are_isolated(sandbox_env, sandbox, questions):
    sandbox.set_faults("status=500,every=2,match=/v2/deployments/stream")
    results = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", concurrency=1, progress=False)
    failed = results["error"].notna()
    assert failed.sum() == 3 and (~failed).sum() == 3
    assert results.loc[failed, "error"].str.contains("orq.ai answered 500").all()
    assert results.loc[~failed, "text"].notna().all()


def test_rate_limits_slow_down_instead_of_failing(sandbox_env, sandbox, questions):
    sandbox.set_faults("status=429,times=4,retry_after=0.05,match=/v2/deployments/stream")
    mark = len(sandbox.requests())
    results = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", concurrency=6, progress=False)
    assert results["error"].isna().all()
    statuses = [r["status"] for r in sandbox.requests()[mark:]]
    assert statuses.count(429) == 4 and statuses.count(200) == 6


def test_mid_stream_failure_keeps_partial_text_in_the_row(sandbox_env, sandbox, questions):
    sandbox.set_faults("drop_after=3")
    results = orqmagic.invoke_many("support-bot", questions.head(2), prompt="{{topic}}", progress=False)
    assert results["error"].str.contains("broke after 3 chunks").all()
    assert results["text"].str.startswith("## ").all()


def test_ctrl_c_returns_the_rows_finished_so_far(sandbox_env, sandbox, monkeypatch):
    """Ctrl-C arrives the moment the first row is done; streams started after it never answer, so the rows
    finished are exactly those already in flight (at most ``concurrency``), whatever the machine's speed."""
    from orqmagic.evaluation.batch import Progress

    rows = pd.DataFrame({"q": [f"question {i}" for i in range(40)]})
    update = Progress.update

    def first_row_done_then_ctrl_c(self, *args, **kwargs):
        update(self, *args, **kwargs)
        if self.done == 1:
            sandbox.set_faults("first_byte_ms=600000")  # later rows hang until the batch is cancelled
            _thread.interrupt_main()

    monkeypatch.setattr(Progress, "update", first_row_done_then_ctrl_c)
    results = orqmagic.invoke_many("support-bot", rows, prompt="{{q}}", concurrency=2, progress=False)
    assert results.attrs["interrupted"] is True
    assert 1 <= len(results) <= 2
    assert results["text"].notna().all() and results["error"].isna().all()
    assert list(results.index) == sorted(results.index)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rows": "not rows"}, "rows must be a DataFrame"),
    ({"rows": pd.DataFrame({"a": []})}, "no rows"),
    ({"prompt": "{{nope}}"}, "no variable named 'nope'"),
    ({"inputs_from": ["missing"]}, "unknown columns: missing"),
    ({"concurrency": 0}, "concurrency must be"),
    ({"metadata": "x"}, "metadata must be a dict"),
])
def test_bad_batches_fail_before_sending(sandbox_env, sandbox, questions, kwargs, message):
    kwargs = {"rows": questions, **kwargs}
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError, match=message):
        orqmagic.invoke_many("support-bot", progress=False, **kwargs)
    assert sandbox.requests()[mark:] == []


def test_summary_plot_and_scores_through_the_outbox(sandbox_env, sandbox, questions):
    results = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", progress=False)
    summary = orqmagic.summarize(results)
    assert summary["rows"] == 6 and summary["errors"] == 0 and summary["latency_p50_ms"] > 0
    fig = orqmagic.plot_batch(results)
    assert len(fig.axes) == 3
    results["score"] = [90, 10, None, 70, 60, 50]
    counts = orqmagic.send_scores(results)
    assert counts.to_dict() == {"sent": 5, "queued": 0, "skipped": 1}
    ours = set(results["id"])  # the shared sandbox also holds other tests' metrics (some without feedback)
    received = {r["transaction_id"]: r["body"]["feedback"]["score"]
                for r in sandbox.received("orq.metrics") if r["transaction_id"] in ours}
    assert [received.get(i) for i in results["id"]] == [90, 10, None, 70, 60, 50]
    results["score"] = [101, 1, 1, 1, 1, 1]
    with pytest.raises(ValidationError, match="row 0: score must be from 0 to 100"):
        orqmagic.send_scores(results)


def test_invoke_over_magic(ip, questions):
    ip.user_ns["cases"] = questions
    ip.run_cell_magic("invoke", "support-bot --over cases --concurrency 2 -o results", "Explain {{topic}}")
    results = ip.user_ns["results"]
    assert len(results) == 6 and results["text"].str.startswith("## ").all()
    with pytest.raises(UsageError, match="no variable named 'nothing'"):
        ip.run_cell_magic("invoke", "support-bot --over nothing", "x")
    with pytest.raises(UsageError, match="no variable named 'missing'"):
        ip.run_cell_magic("invoke", "support-bot --over cases", "Explain {{missing}}")
