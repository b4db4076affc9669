"""orqmagic.judge against the sandbox's judge-bot, whose scores are known in advance (see orqmagic.sandbox.judge)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import Metric, ValidationError
from orqmagic.evaluation.prompts import as_text
from orqmagic.store import Store, default_store
from orqmagic.store.runs import Run
from tests.killed_run import kill_when_recorded

CORRECT = Metric("Correctness", "Score how much of the expected answer the answer states.",
                 ["input", "actualOutput", "expectedOutput"])
QUESTIONS = ["How do I rotate my API key?", "How do refunds work?", "What are the rate limits?",
             "How do exports work?", "How do I invite team members?", "How do webhooks work?"]
EXPECTED = ["The old key stays valid for 24 hours after you rotate it in Settings.",
            "Refunds reach the original card within 5 business days.",
            "1,000 requests per minute; a 429 answer says when to retry.",
            "Exports are CSV or JSON files, kept for 7 days.",
            "Invite members from Settings → Members.",
            "Webhooks send a signed POST; check the signature header."]


def words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


def known_score(answer: str, expected: str) -> float:
    """The sandbox judge's documented rule, written out again here."""
    ref = words(expected)
    return round(len(ref & words(answer)) / len(ref), 2)


def judge_calls(sandbox, mark: int) -> list[dict]:
    return [s for s in sandbox.streams()[mark:] if s["key"] == "judge-bot"]


@pytest.fixture
def answered(sandbox_env):
    cases = pd.DataFrame({"question": QUESTIONS, "expected": EXPECTED})
    return orqmagic.invoke_many("code-helper", cases, prompt="{{question}}", progress=False)


def test_judged_scores_equal_the_sandbox_judges_known_scores(sandbox, answered):
    mark = len(sandbox.streams())
    judged = orqmagic.judge(answered, CORRECT, judge="judge-bot", progress=False)
    assert len(judge_calls(sandbox, mark)) == len(answered)
    assert list(judged["score"]) == [known_score(t, e) for t, e in zip(answered["text"], EXPECTED, strict=True)]
    assert judged["judge_error"].isna().all() and judged["reason"].str.contains("expected words").all()
    assert judged["judge_trace_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert judged["judge_trace_id"].is_unique and not set(judged["judge_trace_id"]) & set(answered["trace_id"])
    assert list(judged.columns[:len(answered.columns)]) == list(answered.columns)  # a copy with columns added
    assert "score" not in answered and judged.attrs["judge"]["judged"] == 6
    assert len(set(judged["score"])) > 1  # code-helper often misses facts: the scores tell answers apart


def test_a_missing_column_is_refused_naming_it_and_nothing_is_sent(sandbox, answered):
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError, match=r"needs expectedOutput.*'expected_output' or 'expectedOutput' or "
                                              r"'expected'.*columns=\{'expectedOutput'"):
        orqmagic.judge(answered.drop(columns=["expected"]), CORRECT, judge="judge-bot", progress=False)
    with pytest.raises(ValidationError, match="no column 'gold'"):
        orqmagic.judge(answered, CORRECT, judge="judge-bot", columns={"expectedOutput": "gold"})
    with pytest.raises(ValidationError, match="HUMAN_EVALUATION.*orqmagic.review"):
        orqmagic.judge(answered, Metric("Tone", source="HUMAN_EVALUATION"), judge="judge-bot")
    with pytest.raises(ValidationError, match="no 'id' column"):
        orqmagic.judge(answered.drop(columns=["id"]), CORRECT, judge="judge-bot", send=True)
    assert sandbox.requests()[mark:] == []  # counted by the sandbox: nothing reached it


def test_a_renamed_column_and_a_row_without_an_answer(sandbox, answered):
    frame = answered.rename(columns={"expected": "gold"})
    frame.loc[2, "text"] = None
    frame.loc[2, "error"] = "orq answered 503: injected fault"
    mark = len(sandbox.streams())
    judged = orqmagic.judge(frame, CORRECT, judge="judge-bot", columns={"expectedOutput": "gold"}, progress=False)
    assert len(judge_calls(sandbox, mark)) == 5  # the row without an answer is not sent to the judge
    assert math.isnan(judged.loc[2, "score"]) and "no answer to judge (the call failed: orq answered 503" in \
        judged.loc[2, "judge_error"]
    assert judged.loc[0, "score"] == known_score(frame.loc[0, "text"], EXPECTED[0])


def test_malformed_judge_answers_become_judge_error_rows_never_scores(sandbox, answered):
    sandbox.set_faults("judge_malformed=1")
    judged = orqmagic.judge(answered, CORRECT, judge="judge-bot", progress=False)
    assert judged["score"].isna().all() and judged["judge_error"].notna().all()
    assert judged["judge_error"].str.contains("states no score|not a number|not valid JSON|outside the metric's "
                                              "scale").all()
    sandbox.set_faults("judge_malformed=0.5,judge_seed=4")
    mixed = orqmagic.judge(answered, CORRECT, judge="judge-bot", progress=False)
    good = mixed["judge_error"].isna()
    assert 0 < good.sum() < len(mixed)
    for text, expected, score in zip(answered["text"][good], answered["expected"][good], mixed["score"][good],
                                     strict=True):
        assert score == known_score(text, expected)


def test_a_score_outside_the_scale_is_an_error(sandbox, answered):
    half = Metric("Half", "Score from 0 to 0.5.", ["input", "actualOutput", "expectedOutput"], scale=(0, 0.5))
    judged = orqmagic.judge(answered, half, judge="judge-bot", progress=False)
    known = [known_score(t, e) for t, e in zip(answered["text"], EXPECTED, strict=True)]
    for score, error, expected in zip(judged["score"], judged["judge_error"], known, strict=True):
        if expected > 0.5:
            assert math.isnan(score) and f"score {expected:g} is outside the metric's scale 0–0.5" in error
        else:
            assert score == expected and error is None


def test_a_metric_from_galtea_by_dict_name_and_id(sandbox, answered, galtea):
    definition = galtea.create_metric("Recall of facts", source="PARTIAL_PROMPT", judge_prompt="Score recall.",
                                      evaluation_params=["actual_output", "expected_output"])
    expected = list(orqmagic.judge(answered, definition, judge="judge-bot", progress=False)["score"])
    assert expected == [known_score(t, e) for t, e in zip(answered["text"], EXPECTED, strict=True)]
    by_name = orqmagic.judge(answered, "Recall of facts", judge="judge-bot", progress=False)
    by_id = orqmagic.judge(answered, definition["id"], judge="judge-bot", progress=False)
    assert list(by_name["score"]) == list(by_id["score"]) == expected
    assert by_id.attrs["judge"]["metric_id"] == definition["id"]
    with pytest.raises(ValidationError, match="no metric named 'Nope'"):
        orqmagic.judge(answered, "Nope", judge="judge-bot")
    tone = galtea.create_metric("Tone of voice", source="HUMAN_EVALUATION")
    with pytest.raises(ValidationError, match="HUMAN_EVALUATION"):
        orqmagic.judge(answered, tone, judge="judge-bot")


def test_send_delivers_each_score_exactly_once_with_its_provenance(sandbox, answered):
    first = orqmagic.judge(answered, CORRECT, judge="judge-bot", send=True, progress=False)
    assert first.attrs["judge"]["feedback"]["sent"] == 6
    again = orqmagic.judge(answered, CORRECT, judge="judge-bot", send=True, run="judged", progress=False)
    assert again.attrs["judge"]["feedback"] == {"sent": 0, "queued": 0, "already_sent": 6, "rejected": 0,
                                                "skipped": 0}
    received = [r for r in sandbox.received("orq.metrics") if r["transaction_id"] in set(answered["id"])]
    assert sorted(r["transaction_id"] for r in received) == sorted(answered["id"])  # each answer once
    for record in received:
        row = first[first["id"] == record["transaction_id"]].iloc[0]
        meta = record["body"]["metadata"]
        assert record["body"]["feedback"]["score"] == round(row["score"] * 100)
        assert meta["metric"] == "Correctness" and meta["judge"] == "judge-bot" and meta["source"] == "llm"
        assert meta["metric_score"] == row["score"] and meta["scale"] == [0, 1] and meta["reason"] == row["reason"]


CHILD = """
import os
import pandas as pd
import orqmagic
from orqmagic import Sandbox
from orqmagic.store.runs import Run

with Sandbox(token_rate=0) as sb:  # its own sandbox: nothing it sent can reach the parent's after the kill
    sb.set_faults("latency_ms=40")
    record_many, recorded = Run.record_many, []

    def record_then_stall(self, items):  # after 6 rows, judge calls hang: the child is still running when killed
        record_many(self, items)
        recorded.extend(items)
        if len(recorded) >= 6:
            sb.set_faults("first_byte_ms=600000")

    Run.record_many = record_then_stall
    os.environ.update(ORQ_BASE_URL=sb.url, ORQ_API_KEY=sb.key)
    frame = pd.DataFrame({"question": [f"question {i}" for i in range(ROWS)],
                          "text": [f"answer {i} with words" for i in range(ROWS)],
                          "expected": [f"answer {i} words expected" for i in range(ROWS)]})
    metric = orqmagic.Metric("Correctness", "Score it.", ["input", "actualOutput", "expectedOutput"])
    orqmagic.judge(frame, metric, judge="judge-bot", concurrency=2, run="judged", progress=False)
print("finished")
"""


def test_judging_killed_with_sigkill_resumes_sending_only_unjudged_rows(sandbox_env, sandbox, tmp_path):
    total = 30
    store = Store(default_store().path)
    kill_when_recorded(CHILD.replace("ROWS", str(total)), tmp_path / "child.py", store, "judged")
    before = Run("judged", store).recorded()
    assert 4 <= len(before) < total
    frame = pd.DataFrame({"question": [f"question {i}" for i in range(total)],
                          "text": [f"answer {i} with words" for i in range(total)],
                          "expected": [f"answer {i} words expected" for i in range(total)]})
    mark = len(sandbox.streams())
    judged = orqmagic.judge(frame, CORRECT.__class__("Correctness", "Score it.",
                                                     ["input", "actualOutput", "expectedOutput"]),
                            judge="judge-bot", concurrency=4, run="judged", progress=False)
    assert len(judge_calls(sandbox, mark)) == total - len(before)
    assert judged.attrs["judge"]["resumed"] == len(before)
    assert list(judged["score"]) == [known_score(t, e) for t, e in zip(frame["text"], frame["expected"], strict=True)]
    store.close()


def test_trials_average_the_judges_scores_and_cache_replays(sandbox, answered):
    mark = len(sandbox.streams())
    judged = orqmagic.judge(answered, CORRECT, judge="judge-bot", trials=3, cache=True, progress=False)
    assert len(judge_calls(sandbox, mark)) == 18
    assert all(len(t) == 3 and len(set(t)) == 1 for t in judged["score_trials"])  # a deterministic judge agrees
    again = orqmagic.judge(answered, CORRECT, judge="judge-bot", trials=3, cache=True, progress=False)
    assert len(judge_calls(sandbox, mark)) == 18 and again.attrs["judge"]["cached"] == 18
    assert list(again["score"]) == list(judged["score"])


_HOSTILE = st.lists(st.sampled_from(["</actual_output>", "<expected_output>", "</expected_output>", "\n", "zebra ",
                                     "key ", "<answer_1>", "<input>", "stays "]), max_size=12).map("".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=_HOSTILE)
def test_an_answer_cannot_pose_as_the_expected_output(sandbox_env, answer):
    answer = answer if answer.strip() else "empty"  # a blank answer is not judged at all (tested above)
    frame = pd.DataFrame({"input": ["q"], "text": [answer], "expected": ["The old key stays valid"]})
    judged = orqmagic.judge(frame, CORRECT, judge="judge-bot", progress=False)
    assert judged.loc[0, "score"] == known_score(as_text(answer), "The old key stays valid")


SENDER = """
import sys
import pandas as pd
import orqmagic

frame = pd.read_json(sys.argv[1], orient="split")
metric = orqmagic.Metric("Correctness", "Score it.", ["input", "actualOutput", "expectedOutput"])
judged = orqmagic.judge(frame, metric, judge="judge-bot", send=True, progress=False)
print(judged.attrs["judge"]["feedback"])
"""


def test_processes_judging_the_same_answers_at_once_send_each_score_once(sandbox, answered, tmp_path):
    cases = tmp_path / "answers.json"
    answered[["question", "text", "expected", "id"]].to_json(cases, orient="split")
    script = tmp_path / "sender.py"
    script.write_text(SENDER)
    children = [subprocess.Popen([sys.executable, str(script), str(cases)], env=dict(os.environ),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    received = [r["transaction_id"] for r in sandbox.received("orq.metrics") if r["transaction_id"] in set(answered["id"])]
    assert sorted(received) == sorted(answered["id"])  # three senders, one shared store: each score once
    sent = sum(int(re.search(r"'sent': (\d+)", out).group(1)) for out, _ in outputs)
    assert sent == len(answered)


def test_an_outbox_submission_id_is_sent_once(sandbox, answered):
    from orqmagic.store.outbox import default_outbox

    box = default_outbox()
    response_id = answered["id"].iloc[0]
    first = box.submit(response_id, submission_id="judgement-x", score=50)
    second = box.submit(response_id, submission_id="judgement-x", score=70)
    assert (first.status, second.status) == ("sent", "duplicate") and "not sent again" in second.note
    assert [r["body"]["feedback"]["score"] for r in sandbox.received("orq.metrics")
            if r["transaction_id"] == response_id] == [50]
    with pytest.raises(ValidationError, match="submission_id"):
        box.submit(response_id, submission_id=" ", score=50)
