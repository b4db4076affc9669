"""%%invoke A B --over DF --judge METRIC / --pairwise CRITERIA, and Comparison.judge."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import Metric
from orqmagic.evaluation.dataset_judge import ScoredComparison
from orqmagic.evaluation.pairwise import PairwiseResult

QUESTIONS = ["How do I rotate my API key?", "How do refunds work?", "What are the rate limits?",
             "How do exports work?"]
EXPECTED = ["The old key stays valid for 24 hours.", "Refunds reach the card within 5 business days.",
            "1,000 requests per minute.", "CSV or JSON, kept for 7 days."]


@pytest.fixture
def shell(ip):
    ip.user_ns["cases"] = pd.DataFrame({"question": QUESTIONS * 2, "expected": EXPECTED * 2})
    ip.user_ns["correctness"] = Metric("Correctness", "Score how much of the expected answer it states.",
                                       ["input", "actualOutput", "expectedOutput"])
    ip.run_line_magic("config", "OrqMagic.judge_deployment = 'judge-bot'")
    return ip


def test_pairwise_cell_runs_both_deployments_and_judges_both_orders(shell, sandbox, capsys):
    mark = len(sandbox.streams())
    shell.run_cell_magic("invoke", 'summarizer support-bot --over cases --pairwise "Which answer is more complete?" '
                                   "-o duel", "{{question}}")
    duel = shell.user_ns["duel"]
    assert isinstance(duel, PairwiseResult) and duel.summary.a == "summarizer" and duel.summary.b == "support-bot"
    keys = [s["key"] for s in sandbox.streams()[mark:]]
    assert keys.count("summarizer") == keys.count("support-bot") == 8 and keys.count("judge-bot") == 16
    assert duel.summary["a_wins"] == 0 and duel.summary["b_wins"] > 0
    assert duel.sentence in capsys.readouterr().out  # the settled output was shown (text form outside a kernel)


def test_judge_cell_scores_each_deployment_and_compares_the_scores(shell):
    shell.run_cell_magic("invoke", "summarizer support-bot --over cases --judge correctness -o scored", "{{question}}")
    scored = shell.user_ns["scored"]
    assert isinstance(scored, ScoredComparison) and list(scored.frames) == ["summarizer", "support-bot"]
    assert scored.frames["support-bot"]["score"].mean() > scored.frames["summarizer"]["score"].mean()
    assert "flipped with order" not in scored.sentence  # scores are not judged in two orders
    assert scored.sentence.startswith(("support-bot beats summarizer", "Not settled: support-bot wins"))
    html = scored._repr_html_()
    assert "score_mean" in html and "95% CI by bootstrap" in html and "score support-bot" in html


@pytest.mark.parametrize(("line", "message"), [
    ("summarizer support-bot --judge correctness", "add --over DF"),
    ("summarizer support-bot --over cases --judge correctness --pairwise better", "pick one"),
    ("summarizer support-bot code-helper --over cases --pairwise better", "compares two deployments, got 3"),
    ("summarizer --over cases --judge-deployment judge-bot", "goes with --judge or --pairwise"),
    ("summarizer support-bot --over cases --judge nonesuch", "no metric named 'nonesuch'"),
    ("summarizer support-bot --over nocases --pairwise better", "no variable named 'nocases'"),
])
def test_bad_judge_lines_are_one_usage_line_and_nothing_is_sent(shell, sandbox, line, message):
    mark = len(sandbox.requests())
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("invoke", line, "{{question}}")
    assert [r for r in sandbox.requests()[mark:] if r["path"].startswith("/v2/deployments/")] == []


def test_a_case_column_the_metric_needs_is_checked_before_any_deployment_runs(shell, sandbox):
    shell.user_ns["bare"] = pd.DataFrame({"question": QUESTIONS})
    mark = len(sandbox.streams())
    with pytest.raises(UsageError, match="needs expectedOutput"):
        shell.run_cell_magic("invoke", "summarizer support-bot --over bare --judge correctness", "{{question}}")
    assert sandbox.streams()[mark:] == []


def test_comparison_judge_scores_columns_and_judges_a_pair(sandbox_env):
    comparison = orqmagic.compare(["support-bot", "summarizer"], QUESTIONS[0], display=False)
    metric = Metric("Correctness", "Score it.", ["input", "actualOutput", "expectedOutput"])
    scored = comparison.judge(metric, expected=EXPECTED[0], judge="judge-bot", progress=False)
    assert list(scored.index) == ["support-bot", "summarizer"]
    assert scored.loc["support-bot", "score"] == 1.0 > scored.loc["summarizer", "score"]
    duel = comparison.judge(criteria="Which is more complete?", expected=EXPECTED[0], judge="judge-bot",
                            progress=False)
    assert list(duel.frame["winner"]) == ["A"] and duel.summary.a == "support-bot"
    with pytest.raises(orqmagic.ValidationError, match="give a metric"):
        comparison.judge()
