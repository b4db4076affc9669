"""Judges under attack: hostile judge answers, odd metrics and frames, and statistics that must not overclaim.

Each class here broke once: a crash, a made-up score, a key in the output, something sent for input that
was refused anyway, or a sentence claiming more than its data. The judge's answers are replaced in the
sandbox (it runs in this process) by patching :func:`orqmagic.sandbox.judge.answer_for`.
"""

from __future__ import annotations

import json
import math
import re
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import orqmagic
from orqmagic import Metric, OrqMagicError, ValidationError
from orqmagic.errors import JudgeAnswerError
from orqmagic.evaluation import pairstats
from orqmagic.evaluation.pairstats import MIN_BOOTSTRAP, p_text, paired_bootstrap, sentence, summarize_pairs
from orqmagic.evaluation.verdicts import parse_score, parse_winner

CORRECT = Metric("Correctness", "Score it.", ["input", "actualOutput", "expectedOutput"])
FRAME = pd.DataFrame({"question": ["apple pear", "plum fig", "kiwi lime"], "text": ["apple", "plum fig", "kiwi"],
                      "expected": ["apple pear", "plum fig", "kiwi lime"]})
QUIET = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def answering(monkeypatch, text: str) -> None:
    """judge-bot answers ``text`` to every prompt."""
    import orqmagic.sandbox.judge as judge_bot

    monkeypatch.setattr(judge_bot, "answer_for", lambda prompt, faults: text)


# -- hostile judge answers: that row's judge_error, never a crash, never a made-up score -----------------------

_WRITTEN = st.one_of(
    st.integers(-10**500, 10**500).map(str),  # far beyond a float
    st.sampled_from(["0_5", "1_0", "٣", "５", "٠.٥", "-0", "+0.5", "NaN", "inf", "-Infinity", "1e309", "4/5", "0x1",
                     "½", "0.5%", "𝟓"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@settings(max_examples=300, deadline=None)
@given(written=_WRITTEN, as_json=st.booleans(), quoted=st.booleans())
def test_a_score_is_read_only_as_the_ascii_decimal_the_judge_wrote(written, as_json, quoted):
    value = json.dumps(written) if quoted else written
    text = f'{{"score": {value}}}' if as_json else f"score: {written}"
    try:
        score, _ = parse_score(text, (-1e9, 1e9))
    except JudgeAnswerError:
        return
    assert math.isfinite(score) and str(score) != "-0.0"
    assert written.isascii() and "_" not in written  # "0_5" is not 5, "٣" is not 3
    assert score == float(written)


@settings(max_examples=100, deadline=None)
@given(first=st.floats(0, 1), second=st.floats(0, 1), key=st.sampled_from(["score", "winner", "reason"]))
def test_a_key_the_judge_gave_twice_is_an_error_not_the_last_one(first, second, key):
    text = f'{{"{key}": {json.dumps(first)}, "score": 0.5, "winner": "1", "{key}": {json.dumps(second)}}}'
    with pytest.raises(JudgeAnswerError, match="more than once"):
        parse_score(text, (0, 1))
    with pytest.raises(JudgeAnswerError, match="more than once"):
        parse_winner(text)


@pytest.mark.parametrize("text", ['score: 0.5\n```json\n{"score": 0.9}\n```', 'score: 0.5\nAs JSON: {"score": 0.9}'])
def test_a_score_line_next_to_a_json_score_is_two_scores(text):
    with pytest.raises(JudgeAnswerError, match="score line and a JSON score"):
        parse_score(text, (0, 1))


def test_a_winner_line_next_to_a_json_winner_is_two_verdicts():
    with pytest.raises(JudgeAnswerError, match="winner line and a JSON winner"):
        parse_winner('winner: 1\nAs JSON: {"winner": "2"}')


@pytest.mark.parametrize("text", ['{"score": 1' + "0" * 400 + "}", '{"a": ' + "[" * 100_000 + "}"])
def test_a_judge_answer_too_big_or_too_deep_is_that_rows_error(sandbox_env, monkeypatch, text):
    answering(monkeypatch, text)
    judged = orqmagic.judge(FRAME, CORRECT, judge="judge-bot", progress=False)  # used to raise OverflowError
    assert judged["score"].isna().all() and judged["judge_error"].str.contains("finite number|not valid JSON").all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(["json", "line", "error"]), around=st.text(max_size=20))
def test_the_api_key_echoed_by_a_judge_is_masked_everywhere(sandbox_env, monkeypatch, where, around):
    key = sandbox_env.key
    text = {"json": json.dumps({"score": 0.5, "reason": f"{around}{key}{around}"}),
            "line": f"score: 0.5\nreason: x{key}x",
            "error": f"I cannot score this, your key {key} is"}[where]
    answering(monkeypatch, text)
    judged = orqmagic.judge(FRAME.iloc[:1], CORRECT, judge="judge-bot", progress=False)
    duel = orqmagic.pairwise(FRAME.iloc[:1], FRAME.iloc[:1].assign(text=["pear"]), judge="judge-bot",
                             criteria="better", progress=False)
    shown = judged.to_string() + repr(judged.to_dict()) + duel.frame.to_string() + repr(duel.frame.to_dict())
    assert key not in shown
    if where != "error":
        assert judged.loc[0, "score"] == 0.5 and "********" in judged.loc[0, "reason"]


def test_a_masked_reason_is_what_send_delivers(sandbox, sandbox_env, monkeypatch):
    results = orqmagic.invoke_many("code-helper", FRAME[["question", "expected"]], prompt="{{question}}", progress=False)
    answering(monkeypatch, json.dumps({"score": 0.5, "reason": f"the key is {sandbox.key}"}))
    orqmagic.judge(results, CORRECT, judge="judge-bot", send=True, progress=False)
    received = [r for r in sandbox.received("orq.metrics") if r["transaction_id"] in set(results["id"])]
    assert len(received) == 3 and all(sandbox.key not in json.dumps(r, default=str) for r in received)


# -- bad input: one typed error, nothing sent ---------------------------------------------------------------------


def _nothing_sent(sandbox, call) -> OrqMagicError:
    mark = len(sandbox.requests())
    with pytest.raises(OrqMagicError) as caught:
        call()
    assert sandbox.requests()[mark:] == []
    return caught.value


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True).filter(
    lambda n: n not in ("input", "actual_output", "actualOutput")))
def test_a_judge_prompt_placeholder_nothing_fills_is_refused_before_sending(sandbox_env, name):
    metric = Metric("Placeholder", f"Compare the answer with {{{{{name}}}}}.", ["input", "actualOutput"])
    error = _nothing_sent(sandbox_env, lambda: orqmagic.judge(FRAME, metric, judge="judge-bot", progress=False))
    assert isinstance(error, ValidationError) and f"{{{{{name}}}}}" in str(error)
    _nothing_sent(sandbox_env, lambda: orqmagic.pairwise(FRAME, FRAME, judge="judge-bot", criteria=metric,
                                                         progress=False))


def test_placeholders_for_the_metrics_own_params_are_harmless(sandbox_env):
    metric = Metric("Own", "Is {{actual_output}} right for {{input}}? \\{{escaped}} {{ 1 + 1 }}",
                    ["input", "actualOutput"])
    assert orqmagic.judge(FRAME, metric, judge="judge-bot", progress=False)["judge_error"].isna().all()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: orqmagic.judge(pd.DataFrame([["q", "a", "b", "e"]], columns=["question", "text", "text", "expected"]),
                            CORRECT, judge="judge-bot"), "more than one column called 'text'"),
    (lambda: orqmagic.judge(FRAME, CORRECT, judge="judge-bot", columns=["expected"]), "columns must be a dict"),
    (lambda: orqmagic.pairwise(FRAME, FRAME, judge="judge-bot", criteria="better", seed="x"), "seed must be"),
    (lambda: orqmagic.pairwise(FRAME, FRAME, judge="judge-bot", criteria="better", labels=("x", "x")),
     "two different names"),
    (lambda: orqmagic.judge(FRAME, {"name": "m", "judgePrompt": "p", "evaluationParams": "input"}, judge="judge-bot"),
     "evaluationParams must be a list"),
    (lambda: orqmagic.judge(FRAME, {"name": "m", "judgePrompt": "p", "evaluationParams": 5}, judge="judge-bot"),
     "evaluationParams must be a list"),
    (lambda: Metric("m", "p", ["actualOutput"], scale=(-1e308, 1e308)), "scale must be"),
    (lambda: Metric("m", "p", ["actualOutput"], scale=(0, 10**400)), "scale must be"),
    (lambda: Metric("m", "p", ["actualOutput"], scale=(0, 10**5000)), "too large to print"),
])
def test_bad_input_is_one_typed_error_and_nothing_is_sent(sandbox_env, call, message):
    error = _nothing_sent(sandbox_env, call)
    assert isinstance(error, ValidationError) and message in str(error)


def test_array_cells_shared_by_both_runs_are_compared_cell_by_cell(sandbox_env):
    a = FRAME.assign(context=[np.array([1, 2])] * 3)
    duel = orqmagic.pairwise(a, a.assign(text=["pear", "fig", "lime"]), judge="judge-bot", criteria="better",
                             progress=False)  # used to raise "truth value of an array is ambiguous"
    assert duel.frame["judge_error"].isna().all()
    with pytest.raises(ValidationError, match="differ in column 'context' at row 1"):
        orqmagic.pairwise(a, a.assign(context=[np.array([1, 2]), np.array([1, 3]), np.array([1, 2])]),
                          judge="judge-bot", criteria="better")


def test_a_column_override_may_name_a_non_text_column(sandbox_env):
    frame = FRAME.assign(**{"5": "unused"}).rename(columns={"expected": 7})
    judged = orqmagic.judge(frame, CORRECT, judge="judge-bot", columns={"expectedOutput": 7}, progress=False)
    assert judged["judge_error"].isna().all()


def test_numpy_scales_are_plain_numbers_that_send(sandbox, sandbox_env):
    metric = Metric("Ten", "Score 0 to 10.", ["input", "actualOutput", "expectedOutput"],
                    scale=(np.int64(0), np.float64(1)))
    assert metric.scale == (0, 1.0) and type(metric.scale[0]) is int
    results = orqmagic.invoke_many("code-helper", FRAME[["question", "expected"]], prompt="{{question}}",
                                   progress=False)
    sent = orqmagic.judge(results, metric, judge="judge-bot", send=True, progress=False).attrs["judge"]["feedback"]
    assert sent["sent"] == 3


PAIRWISE_CELLS = [
    ('summarizer support-bot --over cases --pairwise "   "', "criteria is empty"),
    ("summarizer support-bot --over cases --pairwise tone", "HUMAN_EVALUATION"),
    ("summarizer support-bot --over cases --pairwise needs", "needs expectedOutput"),
    ("summarizer support-bot --over cases --judge placeholder", "{{gold}}"),
]


@pytest.mark.parametrize(("line", "message"), PAIRWISE_CELLS)
def test_a_cell_whose_judging_would_be_refused_runs_no_deployment(ip, sandbox, line, message):
    ip.user_ns.update(cases=pd.DataFrame({"question": ["How do refunds work?", "What are the rate limits?"]}),
                      tone=Metric("Tone", source="HUMAN_EVALUATION"),
                      needs=Metric("Needs", "Score it.", ["input", "actualOutput", "expectedOutput"]),
                      placeholder=Metric("P", "Compare with {{gold}}.", ["input", "actualOutput"]))
    mark = len(sandbox.requests())
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("invoke", line + " --judge-deployment judge-bot", "{{question}}")
    assert [r for r in sandbox.requests()[mark:] if r["path"].startswith("/v2/deployments/")] == []


def test_threads_sending_the_same_judgements_deliver_each_once(sandbox, sandbox_env):
    results = orqmagic.invoke_many("code-helper", FRAME[["question", "expected"]], prompt="{{question}}",
                                   progress=False)
    start, counts = threading.Barrier(3), []

    def send() -> None:
        start.wait(timeout=20)  # the three start together
        counts.append(orqmagic.judge(results, CORRECT, judge="judge-bot", send=True, progress=False)
                      .attrs["judge"]["feedback"])

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(counts) == 3 and sum(c["sent"] for c in counts) == 3
    received = [r["transaction_id"] for r in sandbox.received("orq.metrics") if r["transaction_id"] in set(results["id"])]
    assert sorted(received) == sorted(results["id"])


# -- statistics that claim no more than the data -----------------------------------------------------------------

_WINNER = st.sampled_from(["A", "B", "tie", None])


@settings(max_examples=300, deadline=None)
@given(winners=st.lists(_WINNER, max_size=40), flipped=st.integers(0, 40),
       differences=st.one_of(st.none(), st.lists(st.one_of(st.floats(-1, 1), st.just(math.nan), st.just(math.inf),
                                                           st.none()), max_size=30)))
def test_the_sentence_never_contradicts_its_numbers(winners, flipped, differences):
    ties = winners.count("tie")
    stats = summarize_pairs(winners, inconsistent=min(flipped, ties), differences=differences)
    text = sentence(stats)
    assert "nan" not in text.lower() and "inf" not in text.lower()
    if stats["judged"] == 0:
        assert "all ties" not in text  # nothing was judged: there are no ties either
    if stats["settled"]:
        assert stats["p_value"] < 0.05 and float(p_text(stats["p_value"]).split()[-1]) < 0.05
        low, high = re.search(r"95% CI [<>]?([\d.]+)–[<>]?([\d.]+)%", text).groups()
        assert not float(low) <= 50 <= float(high)  # the shown interval leaves 50% out, as the verdict says
    if stats["decided"] < 6:  # the fewest decided cases at which the exact sign test can reach 5%
        assert not stats["settled"] and "p < 0.001" not in text
    if differences is not None:
        finite = [d for d in differences if d is not None and math.isfinite(d)]
        if len(finite) < MIN_BOOTSTRAP:
            assert math.isnan(stats["mean_difference_ci95_low"]) and not stats["difference_settled"]


def test_a_settled_result_at_the_edge_does_not_print_as_p_0_05_with_50_percent_inside():
    stats = summarize_pairs(["B"] * 42 + ["A"] * 25)  # p = 0.0498, interval from 50.01%
    assert stats["settled"]
    assert sentence(stats).startswith("B beats A on 63% of decided cases (95% CI 50.01–74%), p = 0.0498;")


def test_a_bootstrap_of_a_few_pairs_gives_no_interval_and_no_verdict():
    mean, low, high = paired_bootstrap([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and math.isnan(low) and math.isnan(high)
    stats = summarize_pairs(["B", "B", "B"], differences=[0.1, 0.2, 0.3])
    assert not stats["difference_settled"] and "Mean score B − A: +0.20 over 3 cases: not settled" in sentence(stats)
    # scipy agrees there is nothing to claim from 3 pairs: the t test and the signed-rank test are not significant
    from scipy import stats as scipy_stats

    assert scipy_stats.ttest_1samp([0.1, 0.2, 0.3], 0).pvalue > 0.05
    assert scipy_stats.wilcoxon([0.1, 0.2, 0.3]).pvalue > 0.05


@settings(max_examples=40, deadline=None)
@given(n=st.integers(MIN_BOOTSTRAP, 200), seed=st.integers(0, 10))
def test_from_enough_pairs_the_bootstrap_interval_holds_the_mean(n, seed):
    data = np.random.default_rng(seed).normal(0.1, 0.3, n).round(2)
    mean, low, high = paired_bootstrap(data, seed=seed)
    assert low <= mean <= high and data.min() <= low and high <= data.max()


def test_no_case_judged_reads_as_such(sandbox_env):
    sandbox_env.set_faults("judge_malformed=1")
    duel = orqmagic.pairwise(FRAME, FRAME.assign(text=["pear", "fig", "lime"]), judge="judge-bot", criteria="better",
                             progress=False)
    assert duel.sentence == "Not settled: no case could be judged (3 of 3 not judged: see judge_error)."
    assert pairstats.sentence(summarize_pairs([])).startswith("Not settled: no case could be judged (0 of 0")
