"""The sandbox's judge-bot and its demo deployments: the documented rules, over real HTTP."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.clients import OrqClient
from orqmagic.sandbox.answers import compose
from orqmagic.sandbox.judge import section, verdict


def ask(sandbox, prompt: str, fault: str | None = None) -> str:
    headers = {"X-Sandbox-Fault": fault} if fault else None
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, headers=headers)
    answer = client.invoke("judge-bot", messages=[{"role": "user", "content": prompt}])
    return answer["choices"][0]["message"]["content"]


def score_prompt(actual: str, expected: str) -> str:
    return (f"Does the answer say what is expected?\n\n<input>\nq\n</input>\n\n<actual_output>\n{actual}\n"
            f"</actual_output>\n\n<expected_output>\n{expected}\n</expected_output>\n")


def pair_prompt(one: str, two: str, expected: str) -> str:
    return (f"Which is better?\n<expected_output>\n{expected}\n</expected_output>\n<answer_1>\n{one}\n</answer_1>\n"
            f"<answer_2>\n{two}\n</answer_2>\n")


def test_judge_bot_scores_the_share_of_expected_words_over_http(sandbox):
    answer = json.loads(ask(sandbox, score_prompt("Keys change in Settings, daily.", "Rotate keys in Settings weekly")))
    # expected words {rotate, keys, in, settings, weekly}; the answer has keys, in, settings -> 3/5
    assert answer["score"] == 0.6 and "3 of 5" in answer["reason"] and "weekly" in answer["reason"]


def test_judge_bot_pairwise_prefers_more_expected_words_and_ties_on_equal_counts(sandbox):
    assert json.loads(ask(sandbox, pair_prompt("red", "red blue", "red blue green")))["winner"] == "2"
    assert json.loads(ask(sandbox, pair_prompt("red blue", "red", "red blue green")))["winner"] == "1"
    assert json.loads(ask(sandbox, pair_prompt("red", "blue", "red blue green")))["winner"] == "tie"


def test_position_bias_is_seeded_and_only_says_first(sandbox):
    prompts = [pair_prompt("red", f"red blue {i}", "red blue green").strip() for i in range(200)]  # as sent
    biased = [json.loads(verdict(p, bias=0.7, seed=3))["winner"] for p in prompts]
    assert set(biased) == {"1", "2"} and 0.6 < biased.count("1") / len(biased) < 0.8
    assert biased == [json.loads(verdict(p, bias=0.7, seed=3))["winner"] for p in prompts]  # same prompt, same verdict
    over_http = json.loads(ask(sandbox, prompts[0], "judge_bias=0.7,judge_seed=3"))["winner"]
    assert over_http == biased[0]


def test_malformed_answers_on_request(sandbox):
    prompts = [score_prompt(f"answer {i}", "answer words") for i in range(60)]
    answers = [verdict(p, malformed=0.5, seed=1) for p in prompts]
    bad = [a for a in answers if not a.startswith('{"score": ') or a == '{"score": 0.5, "reason": "cut off']
    assert 15 < len(bad) < 45
    assert ask(sandbox, prompts[0], "judge_malformed=1") in (
        "I think this answer is pretty good overall.", '{"score": "high", "reason": "it reads well"}',
        '{"score": 0.5, "reason": "cut off', "score: 1.5")


def test_a_prompt_without_sections_gets_the_instruction(sandbox):
    assert "needs an <actual_output> section" in ask(sandbox, "How good is this?")


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="<>"), max_size=80)


@settings(max_examples=150, deadline=None)
@given(actual=_TEXT, expected=_TEXT)
def test_score_is_the_documented_share_for_any_text(actual, expected):
    words = lambda text: set(re.findall(r"[^\W_]+", text.lower()))  # noqa: E731 — the rule, written again
    ref = words(expected) or {"q"}
    got = json.loads(verdict(score_prompt(actual, expected)))["score"]
    assert got == round(len(ref & words(actual)) / len(ref), 2)
    assert section(score_prompt(actual, expected), "actual_output") == actual.strip()


def test_demo_deployments_answer_differently_and_deterministically():
    ask_ = {"messages": [{"role": "user", "content": "How do I rotate my API key?"}]}
    thorough, terse = (compose(k, ask_).text for k in ("support-bot", "summarizer"))
    fact = "API keys are rotated from Settings → API keys; the old key stays valid for 24 hours."
    assert fact in thorough and fact not in terse and "the old key" not in terse
    assert len(terse) < len(thorough) / 3
    assert compose("support-bot", ask_).text == thorough
    # code-helper leaves facts out on a coin flip per prompt: over many prompts, some in and some out
    prompts = [{"messages": [{"role": "user", "content": f"Question {i}: how do refunds work?"}]} for i in range(40)]
    kept = ["Refunds go back" in compose("code-helper", p).text for p in prompts]
    assert 5 < sum(kept) < 35
    brief = {"messages": [{"role": "system", "content": "Be brief."}, *ask_["messages"]]}
    assert compose("support-bot", brief).text.count("\n") < 6  # a system message chooses the style (variants)
