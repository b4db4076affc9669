"""orqmagic.pairwise against judge-bot: both orders, the true winner under position bias, the statistics."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import Metric, ValidationError
from orqmagic.evaluation.pairwise import _case

TOPICS = ["rotate my API key", "refunds", "rate limits", "exports", "invite team members", "webhooks",
          "billing", "reset my password"]
CRITERIA = "Which answer states more of what the customer needs to know?"


def words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


@pytest.fixture
def runs(sandbox_env):
    cases = pd.DataFrame({"question": [f"Case {i}: how do {t} work?" for i in range(3) for t in TOPICS]})
    terse = orqmagic.invoke_many("summarizer", cases, prompt="{{question}}", progress=False)
    thorough = orqmagic.invoke_many("support-bot", cases, prompt="{{question}}", progress=False)
    return terse, thorough


def true_winner(question: str, a: str, b: str) -> str:
    """judge-bot's rule with no expected output: more of the input's words wins."""
    ref = words(question)
    one, two = len(ref & words(a)), len(ref & words(b))
    return "B" if two > one else "A" if one > two else "tie"


def test_the_thorough_deployment_wins_in_both_orders(sandbox, runs):
    terse, thorough = runs
    mark = len(sandbox.streams())
    result = orqmagic.pairwise(terse, thorough, judge="judge-bot", criteria=CRITERIA, progress=False)
    assert len([s for s in sandbox.streams()[mark:] if s["key"] == "judge-bot"]) == 2 * len(terse)  # both orders
    frame, summary = result
    truth = [true_winner(q, a, b) for q, a, b in zip(terse["question"], terse["text"], thorough["text"], strict=True)]
    assert list(frame["winner"]) == truth and not frame["position_inconsistent"].any()
    assert list(frame.columns[:1]) == ["question"] and {"verdict_ab", "verdict_ba", "winner", "reasons"} <= set(frame)
    assert summary["b_wins"] == truth.count("B") > summary["a_wins"] and summary["settled"]
    assert summary.sentence.startswith(f"support-bot beats summarizer on {round(100 * summary['b_win_rate'])}% of "
                                       "decided cases (95% CI ")
    assert "0% of pairs flipped with order." in summary.sentence
    html = result._repr_html_()
    assert summary.sentence.split(" (")[0] in html and "<table" in html and "judge judge-bot" in repr(summary)


def test_with_position_bias_one_order_picks_the_first_answer_but_pairwise_does_not(sandbox, runs):
    terse, thorough = runs
    sandbox.set_faults("judge_bias=0.8,judge_seed=11")
    result = orqmagic.pairwise(terse, thorough, judge="judge-bot", criteria=CRITERIA, progress=False)
    frame, summary = result.frame, result.summary
    truth = [true_winner(q, a, b) for q, a, b in zip(terse["question"], terse["text"], thorough["text"], strict=True)]
    assert set(truth) == {"B"}  # thorough really is better on every case
    one_order = frame["verdict_ab"]  # what judging in one order (A shown first) would have concluded
    assert (one_order == "A").mean() > 0.5  # ... the biased side: the worse answer, shown first
    assert set(frame["winner"]) <= {"B", "tie"}  # both orders: the true winner or a tie, never the biased side
    flipped = frame["verdict_ab"] != frame["verdict_ba"]
    assert list(frame["position_inconsistent"]) == list(flipped) and flipped.any()
    assert (frame.loc[flipped, "winner"] == "tie").all()
    assert summary["inconsistency_rate"] == pytest.approx(flipped.mean())
    assert summary["a_wins"] == 0
    assert f"{round(100 * flipped.mean())}% of pairs flipped with order" in summary.sentence


def test_the_same_answers_tie_and_are_not_settled(runs):
    terse, _ = runs
    result = orqmagic.pairwise(terse, terse.copy(), judge="judge-bot", criteria=CRITERIA, progress=False)
    assert (result.frame["winner"] == "tie").all()
    assert result.sentence.startswith("Not settled: no case was decided")


def test_different_cases_are_refused_and_nothing_is_sent(sandbox, runs):
    terse, thorough = runs
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError, match="differ in column 'question' at row 0"):
        orqmagic.pairwise(terse, thorough.iloc[::-1].reset_index(drop=True), judge="judge-bot", criteria=CRITERIA)
    with pytest.raises(ValidationError, match="a has 24 rows and b 23"):
        orqmagic.pairwise(terse, thorough.iloc[:-1], judge="judge-bot", criteria=CRITERIA)
    tripled = pd.concat([terse.assign(trial=t) for t in (1, 2, 3)], ignore_index=True)
    with pytest.raises(ValidationError, match="several trials of each case"):
        orqmagic.pairwise(tripled, tripled, judge="judge-bot", criteria=CRITERIA)
    with pytest.raises(ValidationError, match="needs criteria"):
        orqmagic.pairwise(terse, thorough, judge="judge-bot")
    assert sandbox.requests()[mark:] == []


def test_with_a_metric_and_judge_scores_the_mean_difference_is_bootstrapped(runs):
    terse, thorough = runs
    expected = ["The old key stays valid for 24 hours.", "Refunds reach the card within 5 business days.",
                "1,000 requests per minute.", "CSV or JSON, kept for 7 days.", "From Settings → Members.",
                "Check the signature header.", "Billed per token each month.", "The link expires after one hour."]
    terse, thorough = (f.assign(expected=expected * 3) for f in (terse, thorough))
    metric = Metric("Correctness", "Which answer states the expected facts?", ["input", "actualOutput",
                                                                              "expectedOutput"])
    scored_a = orqmagic.judge(terse, metric, judge="judge-bot", progress=False)
    scored_b = orqmagic.judge(thorough, metric, judge="judge-bot", progress=False)
    result = orqmagic.pairwise(scored_a, scored_b, judge="judge-bot", criteria=metric, progress=False)
    summary = result.summary
    differences = scored_b["score"] - scored_a["score"]
    assert summary["mean_difference"] == pytest.approx(differences.mean())
    assert summary["mean_difference_ci95_low"] <= summary["mean_difference"] <= summary["mean_difference_ci95_high"]
    assert "Mean score support-bot − summarizer: +" in summary.sentence
    assert list(result.frame["score_b"]) == list(scored_b["score"])
    # with the expected output shown, judge-bot's winner follows the expected words, like the scores
    for winner, a, b in zip(result.frame["winner"], scored_a["score"], scored_b["score"], strict=True):
        assert winner == ("B" if b > a else "A" if a > b else "tie")


_ANSWER = st.one_of(st.sampled_from(['{"winner": "1"}', '{"winner": "2"}', '{"winner": "tie"}', "winner: 1",
                                     "no idea", '{"winner": "3"}']).map(lambda t: (t, None)),
                    st.just((None, "orq answered 503")), st.none())


@settings(max_examples=200, deadline=None)
@given(ab=_ANSWER, ba=_ANSWER)
def test_a_side_wins_only_when_both_orders_say_so(ab, ba):
    case = _case(ab, ba)
    if case["judge_error"]:
        assert case["winner"] is None and not case["position_inconsistent"]
        return
    assert case["verdict_ab"] in ("A", "B", "tie") and case["verdict_ba"] in ("A", "B", "tie")
    if case["winner"] in ("A", "B"):
        assert case["verdict_ab"] == case["verdict_ba"] == case["winner"]
    assert case["position_inconsistent"] == (case["verdict_ab"] != case["verdict_ba"])
    # the position of answer 1 maps to A in the first order and to B in the second
    if ab and ab[0] in ('{"winner": "1"}', "winner: 1"):
        assert case["verdict_ab"] == "A"
    if ba and ba[0] == '{"winner": "1"}':
        assert case["verdict_ba"] == "B"


def test_one_deployment_judged_over_a_dataset_shows_its_table(ip):
    ip.user_ns["cases"] = pd.DataFrame({"question": ["How do refunds work?"], "expected": ["Refunds take 5 days."]})
    ip.user_ns["metric"] = Metric("Correctness", "Score it.", ["input", "actualOutput", "expectedOutput"])
    ip.run_cell_magic("invoke", "summarizer --over cases --judge metric --judge-deployment judge-bot -o one",
                      "{{question}}")
    one = ip.user_ns["one"]
    assert list(one.frames) == ["summarizer"] and one.summary is None and "Correctness per deployment" in repr(one)
