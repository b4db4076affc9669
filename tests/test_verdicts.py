"""Strict reading of judge answers: a stated score or verdict, never one guessed from prose."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.errors import JudgeAnswerError
from orqmagic.evaluation.verdicts import parse_score, parse_winner


@pytest.mark.parametrize(("text", "score", "reason"), [
    ('{"score": 0.67, "reason": "mostly there"}', 0.67, "mostly there"),
    ('```json\n{"score": 1, "reason": "all facts"}\n```', 1.0, "all facts"),
    ("Score: 0.4\nReason: misses the retry advice", 0.4, "misses the retry advice"),
    ("**score**: 0", 0.0, ""),
    ('{"score": "0.5"}', 0.5, ""),
])
def test_stated_scores_are_read(text, score, reason):
    assert parse_score(text, (0, 1)) == (score, reason)


@pytest.mark.parametrize(("text", "message"), [
    ("I'd give it a 7, but the second half is weak.", "states no score"),
    ('Here you go: {"score": 0.5}', "states no score"),
    ('{"score": 0.5', "not valid JSON"),
    ('{"rating": 0.5}', "has no score"),
    ('{"score": "high"}', "not a number"),
    ('{"score": true}', "not a number"),
    ('{"score": NaN}', "not a finite number"),
    ('{"score": 1e400}', "not a finite number"),
    ("score: 0.5\nscore: 0.7", "2 score lines"),
    ("score: 7/10", "not a number"),
    ("score: 1.5", "outside the metric's scale 0–1"),
    ('{"score": -0.1}', "outside the metric's scale"),
    ("", "no answer"),
    (None, "no answer"),
])
def test_anything_else_is_an_error(text, message):
    with pytest.raises(JudgeAnswerError, match=message):
        parse_score(text, (0, 1))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.builds(lambda v: json.dumps({"score": v}),
                                                 st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=5),
                                                           st.booleans(), st.none()))))
def test_any_answer_gives_a_score_in_scale_or_an_error(text):
    try:
        score, _ = parse_score(text, (0, 1))
    except JudgeAnswerError:
        return
    assert math.isfinite(score) and 0 <= score <= 1


@pytest.mark.parametrize(("text", "winner"), [
    ('{"winner": "1", "reason": "complete"}', "1"), ('{"winner": 2}', "2"), ('{"winner": "TIE"}', "tie"),
    ("winner: B\nreason: longer", "2"),
])
def test_pairwise_verdicts(text, winner):
    assert parse_winner(text)[0] == winner


@pytest.mark.parametrize("text", ['{"winner": "both"}', "The second one, clearly.", '{"winner": true}',
                                  "winner: 1\nwinner: 2"])
def test_unreadable_verdicts_are_errors(text):
    with pytest.raises(JudgeAnswerError):
        parse_winner(text)
