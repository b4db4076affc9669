"""The review queue in process: scores kept and sent exactly once, resume, scales, keys, agreement statistics."""

from __future__ import annotations

import math
import threading

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import ValidationError
from orqmagic.evaluation import stats
from orqmagic.evaluation.review import SKIP, ReviewSession, load_review
from orqmagic.evaluation.scales import make_scale, rubric_of
from orqmagic.store import Store, default_store
from orqmagic.widgets.keys import KeyDecoder, generation_of, marker

pytestmark = pytest.mark.timeout(120)

METRIC = {"id": "m-1", "name": "Helpfulness", "source": "HUMAN_EVALUATION",
          "judgePrompt": "Score 5 when the answer solves the problem with correct steps."}


_IDS: list[str] = []


@pytest.fixture(autouse=True)
def answer_ids(sandbox):
    """Response ids the sandbox knows (feedback for an unknown id is a 404), made once for the module."""
    if not _IDS:
        from orqmagic.clients import OrqClient

        with OrqClient(base_url=sandbox.url, api_key=sandbox.key) as orq:
            _IDS.extend(orq.invoke("support-bot", messages=[{"role": "user", "content": f"q{i}"}],
                                   mock_response=f"answer **{i}**")["id"] for i in range(30))
    return _IDS


def results(n: int = 6, **extra: list) -> pd.DataFrame:
    frame = pd.DataFrame({"question": [f"question {i}" for i in range(n)], "text": [f"answer **{i}**" for i in range(n)],
                          "id": _IDS[:n], **extra})
    frame.attrs["deployment"] = "support-bot"
    return frame


def arrived(sandbox, queue: str) -> list[dict]:
    return [r for r in sandbox.received("orq.metrics") if (r["body"].get("metadata") or {}).get("review") == queue]


# -- scores kept, sent once per distinct value ------------------------------------------------------

def test_each_score_is_stored_at_once_and_sent_once_a_change_once_more(sandbox_env):
    session = ReviewSession(results(), name="once", metric=METRIC)
    session.record(0, 4, comment="clear")
    stored = load_review("once")
    assert stored.loc[0, ["case", "score", "comment"]].tolist() == [0, 4, "clear"]
    session.record(0, 4)                      # the same value again: kept, not sent again
    session.record(1, 2)
    session.record(0, 5)                      # a changed score: sent once more, with the new value
    session.record(0, None, comment="on second thought")  # a comment alone: kept, not sent
    assert session.wait_sent()
    got = arrived(sandbox_env, "once")
    assert [(r["transaction_id"], r["body"]["feedback"]["score"]) for r in got] == [
        (_IDS[0], 75), (_IDS[1], 25), (_IDS[0], 100)]
    meta = got[0]["body"]["metadata"]
    assert meta["source"] == "human" and meta["metric"] == "Helpfulness" and meta["metric_id"] == "m-1"
    assert meta["value"] == 4 and meta["comment"] == "clear" and meta["case"] == 0
    final = load_review("once").set_index("case")
    assert final.loc[0, "score"] == 5 and final.loc[0, "comment"] == "on second thought" and len(final) == 2


def test_scores_frame_has_snake_case_columns_and_utc_times(sandbox_env):
    session = ReviewSession(results(), name="frame", send=False, reviewer="ada")
    session.record(2, 3)
    session.record(3, SKIP)
    frame = load_review("frame")
    assert list(frame.columns[:5]) == ["case", "score", "comment", "reviewer", "time"]
    assert str(frame["time"].dt.tz) == "UTC" and set(frame["reviewer"]) == {"ada"}
    assert frame.set_index("case").loc[3, "skipped"] and pd.isna(frame.set_index("case").loc[3, "score"])
    assert not arrived(sandbox_env, "frame")  # send=False sends nothing


def test_a_restarted_session_resumes_at_the_first_open_case(sandbox_env):
    first = ReviewSession(results(), name="resume", send=False)
    for case, score in [(0, 3), (1, 4), (2, 5)]:
        first.record(case, score)
    first.record(3, SKIP)
    again = ReviewSession(results(), name="resume", send=False)
    assert again.case == 4 and again.progress() == "5 of 6 · 3 scored · 1 skipped"
    assert again.review_of(1).score == 4
    again.position = 5
    assert again.next_open() and again.case == 4  # wraps round, passing the scored and skipped
    again.record(4, 1)
    again.record(5, 1)
    assert not again.next_open()


def test_two_sessions_on_one_queue_never_double_a_score(sandbox_env):
    """Two notebooks (two stores on one file) give overlapping scores at the same time."""
    path = default_store().path
    sessions = [ReviewSession(results(30), name="two", store=Store(path)) for _ in range(2)]
    plans = [[(c, 4) for c in range(0, 20)], [(c, 4 if c % 2 else 5) for c in range(10, 30)]]
    errors: list[BaseException] = []

    def work(session, plan):
        try:
            for case, score in plan:
                session.record(case, score)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=pair) for pair in zip(sessions, plans, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for s in sessions:
        assert s.wait_sent()
    frame = load_review("two")
    assert sorted(frame["case"]) == list(range(30))  # every case once
    got = arrived(sandbox_env, "two")
    per_case: dict[int, list[int]] = {}
    for r in got:
        per_case.setdefault(r["body"]["metadata"]["case"], []).append(r["body"]["metadata"]["value"])
    for case in range(30):
        both = 10 <= case < 20
        expected = 2 if both and case % 2 == 0 else 1  # 4 and 5 are two values; 4 given twice is one
        assert len(per_case[case]) == expected, (case, per_case[case])
        given = {score for plan in plans for c, score in plan if c == case}
        assert set(per_case[case]) == given and frame.set_index("case").loc[case, "score"] in given


def test_a_score_off_the_scale_keeps_and_sends_nothing(sandbox_env):
    session = ReviewSession(results(), name="bad")
    for bad in (6, 0, "5", 2.5, None):
        with pytest.raises(ValidationError):
            session.record(0, bad)
    with pytest.raises(ValidationError, match="not in this queue"):
        session.record(99, 3)
    with pytest.raises(ValidationError, match="no review named"):
        load_review("bad")
    assert not arrived(sandbox_env, "bad")


def test_the_same_name_over_other_answers_is_refused(sandbox_env):
    ReviewSession(results(), name="same", send=False).record(0, 3)
    other = results()
    other["id"] = list(reversed(other["id"]))
    with pytest.raises(ValidationError, match="holds scores for other answers"):
        ReviewSession(other, name="same")


@pytest.mark.parametrize("bad", [(5, 1), (0, 20), [], ["a", "a"], ["a", 1], {"good": 101}, "stars", [1, 3, 2], {"": 5}])
def test_bad_scales_are_one_clear_error(bad):
    with pytest.raises(ValidationError) as info:
        make_scale(bad)
    assert info.value.field == "scale" and "\n" not in str(info.value)


def test_scales_map_to_orq_scores_and_keys():
    thumbs = make_scale("thumbs")
    assert thumbs.is_thumbs and thumbs.key_for("+") == 1 and thumbs.key_for("0") == 0 and thumbs.orq_scores == (0, 100)
    five = make_scale((1, 5))
    assert five.numeric and five.keys == ("1", "2", "3", "4", "5") and five.orq_scores == (0, 25, 50, 75, 100)
    labels = make_scale(["bad", "ok", "good"])
    assert not labels.numeric and labels.key_for("2") == "ok" and labels.orq_score("good") == 100
    assert make_scale({"fail": 0, "pass": 90}).orq_score("pass") == 90
    ten = make_scale((1, 10))
    assert ten.key_for("0") == 10 and ten.key_for("1") == 1


def test_a_metric_gives_the_rubric_as_a_dict_an_object_or_a_name():
    class Metric:  # the shape of the judges' Metric helper: snake_case attributes
        name = "Tone"
        judge_prompt = "Polite and direct."
        id = None

    assert rubric_of(METRIC).text.startswith("Score 5") and rubric_of(METRIC).label == "Helpfulness"
    assert rubric_of(Metric()).text == "Polite and direct." and rubric_of("Tone").text is None
    assert rubric_of(None).label == "score"
    with pytest.raises(ValidationError):
        rubric_of({"judgePrompt": "no name"})


# -- the widget ---------------------------------------------------------------------------------------

def test_keys_score_move_and_skip_through_record(sandbox_env):
    queue = orqmagic.review(results(), name="keys", metric=METRIC, send=False)
    typed = []
    original = queue.session.record
    queue.session.record = lambda *a, **k: (typed.append(a), original(*a, **k))[1]

    def press(keys: str) -> None:
        queue.keybox.value = queue.keybox.value + keys

    press("4")
    assert queue.case == 1 and typed == [(0, 4, None)]
    press("sb")          # skip case 1, back to it
    assert queue.case == 1 and queue.session.review_of(1).skipped
    press("2u")          # score it (on to case 2), then the next unscored after that
    assert queue.case == 3 and queue.session.review_of(1).score == 2
    press("x")           # a key that does nothing says so
    assert "does nothing" in queue.status.value and queue.case == 3
    queue.score_buttons[4].click()
    assert queue.session.review_of(3).score == 5 and queue.case == 4
    queue.comment.value = "kept on Enter or when the field loses focus"
    assert queue.session.review_of(4).comment.startswith("kept on Enter") and queue.case == 4
    assert "3 scored" in queue.header.value and generation_of(queue.keybox.value) is not None
    assert queue.summary() == "ReviewQueue 'keys': 3 of 6 scored · Helpfulness 1: 0, 2: 1, 3: 0, 4: 1, 5: 1"
    assert "rubric" in queue.rubric.value and "Score 5 when" in queue.rubric.value
    assert repr(queue) == "ReviewQueue('keys', 3 of 6 scored, case 4)"  # not the widget tree


def test_saved_view_shows_progress_and_distribution(sandbox_env):
    queue = orqmagic.review(results(), name="saved", scale="thumbs", send=False)
    queue.record(0, 1)
    queue.record(1, 0)
    queue.record(2, 1)
    page = queue.summary_html()
    assert "3 of 6 scored" in page and "👍" in page and f"orqmagic-saved-{queue._token}" in page
    assert queue.summary().endswith("score 👎: 1, 👍: 2")
    assert "<script" not in page


# -- the keystroke decoder: every key read once, whatever the interleaving ------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["type", "deliver", "apply", "echo"]), st.sampled_from("0123456789nbsu")),
                min_size=1, max_size=60))
def test_every_keystroke_is_read_exactly_once_in_order(steps):
    """A front end types and sends values, applies the kernel's clears late, and applies the echo of the last
    value it sent after a clear (ipywidgets 8 drops older echoes), in any order."""
    decoder = KeyDecoder()
    box = decoder.initial()            # what the front end's input holds
    to_kernel: list[str] = []          # values in flight, in order
    to_front: list[str] = []           # the kernel's clears in flight, in order
    echoes: list[str] = []             # echoes of values the kernel received, in flight
    typed, read = [], []

    def deliver() -> None:
        value = to_kernel.pop(0)
        echoes.append(value)
        new = decoder.feed(value)
        read.extend(new)
        if new:
            to_front.append(decoder.clear())

    for action, char in steps:
        if action == "type":
            box += char
            typed.append(char)
            to_kernel.append(box)
        elif action == "deliver" and to_kernel:
            deliver()
        elif action == "apply" and to_front:
            box = to_front.pop(0)
        elif action == "echo" and echoes:
            echo = echoes.pop(0)
            if not echoes and not to_kernel:  # ipywidgets 8 applies only the echo of the last value it sent
                box = echo
    while to_kernel:
        deliver()
    assert read == typed


def test_markers_are_invisible_and_round_trip():
    for generation in (0, 1, 2, 7, 1000, 2**40):
        mark = marker(generation)
        assert generation_of(mark + "45") == generation and not any(c.isprintable() and c.strip() for c in mark)
    assert generation_of("45") is None


# -- agreement statistics against an independent computation ---------------------------------------------

HUMAN = [1, 2, 3, 4, 5, 3, 2, 4, 4, 1, 5, 3]
JUDGE = [1, 3, 3, 5, 5, 2, 2, 4, 3, 2, 4, 3]


def test_spearman_matches_scipy():
    from scipy.stats import spearmanr

    assert stats.spearman(HUMAN, JUDGE) == pytest.approx(spearmanr(HUMAN, JUDGE).statistic, abs=1e-12)
    assert math.isnan(stats.spearman([3, 3, 3], [1, 2, 3]))


def test_cohen_kappa_matches_a_hand_computation():
    human = ["good", "good", "bad", "good", "bad", "bad", "good", "good", "bad", "good"]
    judge = ["good", "bad", "bad", "good", "bad", "good", "good", "good", "bad", "bad"]
    # observed 7/10; human good 6/10, judge good 5/10 → chance 0.6*0.5 + 0.4*0.5 = 0.5; kappa (0.7-0.5)/0.5 = 0.4
    assert stats.cohen_kappa(human, judge) == pytest.approx(0.4)
    assert stats.match_rate(human, judge) == pytest.approx(0.7)
    assert math.isnan(stats.cohen_kappa(["a", "a"], ["a", "a"]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=40))
def test_spearman_matches_scipy_for_any_ties(pairs):
    from scipy.stats import spearmanr

    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    ours = stats.spearman(first, second)
    if len(set(first)) < 2 or len(set(second)) < 2:
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(spearmanr(first, second).statistic, abs=1e-9)


def test_queue_agreement_against_a_judged_frame(sandbox_env):
    n = len(HUMAN)
    judged = results(n, score=JUDGE, reason=["r"] * n, judge_error=[None] * (n - 1) + ["timeout"])
    queue = orqmagic.review(judged, name="agree", send=False)
    for case, score in enumerate(HUMAN):
        queue.record(case, score)
    from scipy.stats import spearmanr

    result = queue.agreement(judged)
    assert result["cases"] == n - 1  # the judge failed on the last case: left out
    assert result["agreement"] == pytest.approx(sum(a == b for a, b in zip(HUMAN[:-1], JUDGE[:-1], strict=True)) / (n - 1))
    assert result["spearman"] == pytest.approx(spearmanr(HUMAN[:-1], JUDGE[:-1]).statistic)
    thumbs = orqmagic.review(results(4, score=[1, 0, 1, 1]), name="agree-thumbs", scale="thumbs", send=False)
    for case, score in enumerate([1, 0, 0, 1]):
        thumbs.record(case, score)
    verdict = thumbs.agreement(results(4, score=[1, 0, 1, 1]))
    assert verdict["agreement"] == 0.75 and verdict["cohen_kappa"] == pytest.approx(0.5)


def test_a_case_shows_its_input_expected_output_and_the_judges_verdict(sandbox_env):
    judged = results(3, expected=["rotate in settings", None, "x"], score=[4, None, 2],
                     reason=["right steps", None, "off topic"], judge_error=[None, "judge timed out", None],
                     tier=["gold", "free", "gold"])
    queue = orqmagic.review(judged, name="view", send=False, show=["question", "tier"])
    assert "question 0" in queue.inputs.value and "gold" in queue.inputs.value
    assert "rotate in settings" in queue.expected.value
    assert "right steps" in queue.judge.value and ">4<" not in queue.judge.value and "4" in queue.judge.value
    queue.next()
    assert "judge timed out" in queue.judge.value and queue.expected.value == ""  # nothing expected: no section
    assert "2 of 3 · 0 scored" in queue.header.value
    with pytest.raises(ValidationError, match="show names columns"):
        orqmagic.review(judged, name="view2", show=["nope"])


def test_a_second_notebook_sees_what_the_first_scored_when_it_gets_there(sandbox_env):
    first = orqmagic.review(results(), name="shared", send=False, reviewer="ada")
    second = orqmagic.review(results(), name="shared", send=False, reviewer="bob")
    first.record(1, 5)
    second.next()                                  # case 1, scored by the other notebook meanwhile
    assert "ada: <b>5</b>" in second.header.value and second.score_buttons[4].button_style == "success"
    first.record(2, 3)
    second.back()
    second.next_unscored()                         # passes case 1 and case 2, both scored elsewhere
    assert second.case == 3
