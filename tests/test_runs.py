"""Resumable runs, trials and totals, against the sandbox, counting the requests it received."""

from __future__ import annotations

import _thread
import math

import pandas as pd
import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import ValidationError
from orqmagic.evaluation.batch import Progress
from orqmagic.evaluation.stats import agreement, cost, mean_ci, t95
from orqmagic.store.database import Store, default_store
from orqmagic.store.runs import Run
from tests.killed_run import kill_when_recorded

STREAM = "/v2/deployments/stream"


def streams_since(sandbox, mark: int) -> list[dict]:
    return sandbox.streams()[mark:]


@pytest.fixture
def questions():
    return pd.DataFrame({"topic": ["billing", "refunds", "keys", "quotas", "exports", "teams"]})


def test_retry_failed_sends_exactly_the_failed_rows(sandbox_env, sandbox, questions):
    sandbox.set_faults("status=500,every=2,match=/v2/deployments/stream")
    first = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", concurrency=1, run="eval", progress=False)
    failed = first["error"].notna()
    assert list(failed) == [False, True] * 3
    sandbox.set_faults(None)

    mark = len(sandbox.streams())
    again = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", concurrency=1, run="eval", progress=False)
    assert streams_since(sandbox, mark) == [] and again.attrs["resumed"] == 6
    assert list(again["error"].notna()) == list(failed)  # failures stay failures unless asked

    retried = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", run="eval", retry_failed=True,
                                   progress=False)
    sent = streams_since(sandbox, mark)
    assert len(sent) == 3 and retried["error"].isna().all()
    assert sorted(s["id"] for s in sent) == sorted(retried.loc[failed, "id"])
    assert list(retried.loc[~failed, "id"]) == list(first.loc[~failed, "id"])  # finished rows were not re-sent
    assert (retried.attrs["resumed"], retried.attrs["sent"]) == (3, 3)
    pd.testing.assert_frame_equal(orqmagic.load_run("eval")[retried.columns], retried, check_dtype=False)


def test_a_run_name_is_refused_for_other_questions(sandbox_env, sandbox, questions):
    orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", run="eval", progress=False)
    mark = len(sandbox.requests())
    cases = [
        ({"key": "summarizer"}, "made with deployment 'support-bot', not 'summarizer'"),
        ({"prompt": "Explain {{topic}}"}, "made with another prompt"),
        ({"rows": questions.head(4)}, "has 6 rows, not 4"),
        ({"rows": questions.assign(topic=questions["topic"].str.upper())}, "other rows or request fields"),
        ({"metadata": {"team": "a"}}, "other rows or request fields"),
    ]
    for change, message in cases:
        kwargs = {"key": "support-bot", "rows": questions, "prompt": "{{topic}}", **change}
        with pytest.raises(ValidationError, match=message):
            orqmagic.invoke_many(kwargs.pop("key"), kwargs.pop("rows"), run="eval", progress=False, **kwargs)
    assert sandbox.requests()[mark:] == []
    fresh = orqmagic.invoke_many("support-bot", questions.head(4), prompt="Explain {{topic}}", run="eval",
                                 overwrite=True, progress=False)
    assert fresh.attrs["sent"] == 4 and len(orqmagic.load_run("eval")) == 4
    with pytest.raises(ValidationError, match="need a run name"):
        orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", retry_failed=True)
    with pytest.raises(ValidationError, match="no run named 'nope'; stored runs: eval"):
        orqmagic.load_run("nope")


def test_ctrl_c_keeps_every_finished_row_and_resume_sends_the_rest(sandbox_env, sandbox, monkeypatch):
    rows = pd.DataFrame({"q": [f"question {i}" for i in range(20)]})
    original = Run.record_many
    count = {"n": 0}

    def record_then_interrupt(self, items):
        original(self, items)
        count["n"] += len(items)
        if count["n"] >= 3 and not count.get("pressed"):
            count["pressed"] = True
            sandbox.set_faults("first_byte_ms=600000")  # streams started from now on hang until cancelled
            _thread.interrupt_main()  # as if Ctrl-C was pressed once three rows are recorded

    monkeypatch.setattr(Run, "record_many", record_then_interrupt)
    sandbox.set_faults("latency_ms=50")
    with pytest.raises(KeyboardInterrupt):
        orqmagic.invoke_many("support-bot", rows, prompt="{{q}}", concurrency=2, run="ctrl-c", progress=False)
    first = orqmagic.last_result()
    sandbox.set_faults(None)
    monkeypatch.setattr(Run, "record_many", original)
    assert first.attrs["interrupted"] is True
    recorded = Run("ctrl-c", default_store()).recorded()
    assert 3 <= len(recorded) < 20 and len(first) == len(recorded)

    mark = len(sandbox.streams())
    resumed = orqmagic.invoke_many("support-bot", rows, prompt="{{q}}", concurrency=2, run="ctrl-c", progress=False)
    assert len(streams_since(sandbox, mark)) == 20 - len(recorded)
    assert len(resumed) == 20 and resumed["error"].isna().all() and resumed["id"].is_unique


CHILD = """
import os
import pandas as pd
import orqmagic
from orqmagic import Sandbox

from orqmagic.store.runs import Run

with Sandbox(token_rate=0) as sb:  # its own sandbox: nothing it sent can reach the parent's after the kill
    sb.set_faults("latency_ms=60")
    record_many, recorded = Run.record_many, []

    def record_then_stall(self, items):  # after 6 rows, streams hang: the child is still running when killed
        record_many(self, items)
        recorded.extend(items)
        if len(recorded) >= 6:
            sb.set_faults("first_byte_ms=600000")

    Run.record_many = record_then_stall
    os.environ.update(ORQ_BASE_URL=sb.url, ORQ_API_KEY=sb.key)
    rows = pd.DataFrame({"q": [f"question {i}" for i in range(ROWS)]})
    orqmagic.invoke_many("support-bot", rows, prompt="{{q}}", concurrency=2, run="killed", progress=False)
print("finished")
"""


def test_a_run_killed_with_sigkill_resumes_with_exactly_the_rows_not_recorded(sandbox_env, sandbox, tmp_path):
    total = 40
    store = Store(default_store().path)
    kill_when_recorded(CHILD.replace("ROWS", str(total)), tmp_path / "child.py", store, "killed")
    before = Run("killed", store).recorded()
    assert 4 <= len(before) < total

    rows = pd.DataFrame({"q": [f"question {i}" for i in range(total)]})
    mark = len(sandbox.streams())
    resumed = orqmagic.invoke_many("support-bot", rows, prompt="{{q}}", concurrency=4, run="killed", progress=False)
    sent = streams_since(sandbox, mark)
    assert len(sent) == total - len(before)
    assert len(resumed) == total and resumed["error"].isna().all()
    for (row, _trial), result in before.items():
        assert resumed.loc[row, "id"] == result["id"]  # recorded rows were loaded, not sent again
    assert sorted(s["id"] for s in sent) == sorted(resumed.drop(index=[r for r, _ in before])["id"])
    store.close()


def test_trials_send_every_row_n_times_and_summarize_gives_intervals(sandbox_env, sandbox, questions):
    mark = len(sandbox.streams())
    results = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", trials=3, cache=True, progress=False)
    assert len(streams_since(sandbox, mark)) == 18  # the cache keys by trial: trials are really repeated
    assert len(results) == 18 and list(results["trial"]) == [1, 2, 3] * 6
    assert list(results["case"]) == [i for i in range(6) for _ in range(3)] and results["id"].is_unique
    assert results.index.is_unique  # trials never repeat an index label
    again = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", trials=3, cache=True, progress=False)
    assert len(streams_since(sandbox, mark)) == 18 and again["cached"].all()

    summary = orqmagic.summarize(results)
    for metric in ("latency_ms", "ttft_ms", "completion_tokens"):
        low, mean, high = (summary[f"{metric}_ci95_low"], summary[f"{metric}_mean"], summary[f"{metric}_ci95_high"])
        assert low <= mean <= high
        per_row = results[metric].groupby(results["case"]).mean()
        assert mean == pytest.approx(per_row.mean())
    assert summary["trials"] == 3 and summary["agreement"] == 1.0  # the sandbox answers a prompt the same way
    results["score"] = [60, 80, 70] * 5 + [None, None, None]  # a human score per trial; one case unscored
    scored = orqmagic.summarize(results)
    mean, low, high = mean_ci([70] * 5)
    assert (scored["score_mean"], scored["score_ci95_low"], scored["score_ci95_high"]) == (mean, low, high) == (70, 70, 70)


def test_totals_and_estimated_cost(sandbox_env, questions):
    prices = {"openai/gpt-4o-mini": (0.15, 0.60)}
    results = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", prices=prices, progress=False)
    assert results.attrs["prompt_tokens"] == results["prompt_tokens"].sum() > 0
    assert results.attrs["completion_tokens"] == results["completion_tokens"].sum() > 0
    expected = (results["prompt_tokens"].sum() * 0.15 + results["completion_tokens"].sum() * 0.60) / 1e6
    assert results.attrs["estimated_cost"] == pytest.approx(expected)
    assert orqmagic.summarize(results)["estimated_cost"] == pytest.approx(expected)
    other = orqmagic.invoke_many("summarizer", questions, progress=False)
    estimate, unpriced = cost(other, prices)
    assert estimate == 0 and unpriced == 6
    assert orqmagic.summarize(other, prices=prices)["estimated_cost_rows_unpriced"] == 6
    with pytest.raises(ValidationError, match="two numbers >= 0"):
        orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", prices={"x": (1,)})
    with pytest.raises(ValidationError, match="trials must be a whole number"):
        orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", trials=0)


def test_progress_counts_resumed_and_cached_apart(sandbox_env, questions, capsys):
    orqmagic.invoke_many("support-bot", questions.head(3), prompt="{{topic}}", run="p", progress=False)
    resumed = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", run="p", overwrite=True,
                                   cache=True, progress=False)
    assert (resumed.attrs["resumed"], resumed.attrs["cached"], resumed.attrs["sent"]) == (0, 0, 6)
    again = orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", run="q", cache=True, progress=True)
    assert (again.attrs["resumed"], again.attrs["cached"], again.attrs["sent"]) == (0, 6, 0)
    assert "6/6 done · 6 cached · 0 sent · 0 failed" in capsys.readouterr().err
    orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", run="q", cache=True, progress=True)
    assert "6/6 done · 6 resumed · 0 sent" in capsys.readouterr().err
    tracker = Progress(10, None, resumed=4)
    tracker.update(failed=False, cached=True)
    tracker.update(failed=True)
    assert (tracker.done, tracker.resumed, tracker.cached, tracker.sent, tracker.failed) == (6, 4, 1, 1, 1)


def test_runs_lists_the_stored_runs(sandbox_env, questions):
    orqmagic.invoke_many("support-bot", questions, prompt="{{topic}}", run="one", progress=False)
    orqmagic.invoke_many("summarizer", questions.head(2), run="two", trials=2, progress=False)
    table = orqmagic.runs()
    assert list(table["name"]) == ["one", "two"]
    assert table.set_index("name").loc["two", ["deployment", "rows", "trials", "recorded", "failed"]].tolist() == \
        ["summarizer", 2, 2, 4, 0]
    assert table["complete"].all()
    loaded = orqmagic.load_run("two")
    assert list(loaded["trial"]) == [1, 2, 1, 2] and list(loaded["input_text"] if "input_text" in loaded else
                                                         loaded["topic"]) == ["billing", "billing", "refunds", "refunds"]


def test_run_magics(ip, sandbox):
    ip.user_ns["cases"] = pd.DataFrame({"topic": ["billing", "refunds", "keys"]})
    mark = len(sandbox.streams())
    ip.run_cell_magic("invoke", "support-bot --over cases --run nb --trials 2 -o results", "Explain {{topic}}")
    assert len(ip.user_ns["results"]) == 6 and len(streams_since(sandbox, mark)) == 6
    ip.run_cell_magic("invoke", "support-bot --over cases --run nb --trials 2 -o again", "Explain {{topic}}")
    assert ip.user_ns["again"].attrs["resumed"] == 6 and len(streams_since(sandbox, mark)) == 6
    with pytest.raises(UsageError, match="made with another prompt"):
        ip.run_cell_magic("invoke", "support-bot --over cases --run nb", "Other {{topic}}")
    ip.run_cell_magic("invoke", "support-bot --over cases --run nb --overwrite --cache -o fresh", "Other {{topic}}")
    assert ip.user_ns["fresh"].attrs["sent"] == 3
    with pytest.raises(UsageError, match="go with --over"):
        ip.run_cell_magic("invoke", "support-bot --run nb", "Hello")
    assert list(ip.run_line_magic("orq", "runs")["name"]) == ["nb"]
    for name in ("cases", "results", "again", "fresh"):
        ip.user_ns.pop(name, None)


def test_statistics():
    mean, low, high = mean_ci([1, 2, 3, 4, 5])
    assert mean == 3 and high - mean == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5), rel=1e-3)
    assert mean - low == pytest.approx(high - mean)
    assert math.isnan(mean_ci([4.0])[1]) and math.isnan(mean_ci([])[0])
    assert t95(40) == pytest.approx(2.0211, abs=2e-3) and t95(120) == pytest.approx(1.9799, abs=1e-3)
    assert agreement([["a", "a", "b"]]) == pytest.approx(1 / 3)
    assert agreement([["a", "a"], ["b", "c"]]) == 0.5
    assert math.isnan(agreement([["only one"]]))
