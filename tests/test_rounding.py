"""Numbers rounded to significant digits that never merge distinct values (issue 20: 0.92 and 0.88 both read 0.9)."""

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.render.live import final_bundle, rounded
from orqmagic.render.numbers import human, human_all, round_significant
from orqmagic.result import InvokeResult

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
scores = st.floats(0, 1, allow_nan=False)


def json_floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from json_floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_floats(v)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=12))
def test_distinct_values_shown_together_never_read_the_same(values):
    shown = human_all(values)
    for a, text_a in zip(values, shown, strict=True):
        for b, text_b in zip(values, shown, strict=True):
            assert (text_a == text_b) == (a == b), (a, b, text_a)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({"score": scores, "latency": finite}), min_size=1, max_size=8))
def test_json_answers_keep_distinct_floats_distinct_and_close(documents):
    before = list(json_floats(documents))
    after = list(json_floats(rounded(documents)))
    assert len(before) == len(after)
    for a, ra in zip(before, after, strict=True):
        assert math.isclose(ra, a, rel_tol=5e-3, abs_tol=1e-300) or abs(ra - a) <= 0.5  # integer digits are kept
        for b, rb in zip(before, after, strict=True):
            assert (ra == rb) == (a == b)


def test_significant_digits_not_fixed_decimals():
    assert rounded({"retrievals": [{"score": 0.92}, {"score": 0.88}]}) == {"retrievals": [{"score": 0.92}, {"score": 0.88}]}
    assert rounded([0.921345, 0.0001234567, 1325.0481100000115]) == [0.921, 0.000123, 1325.0]
    assert rounded([0.9213, 0.9214]) == [0.9213, 0.9214]  # a fourth digit only because it tells them apart
    assert round_significant(7403.15) == 7403.0 and human(7403.15) == "7,403" and human(0.012345) == "0.0123"
    assert human_all([1231.0, 1234.0, 0.92, 0.88]) == ["1,231", "1,234", "0.920", "0.880"]


def test_the_json_format_shows_retrieval_scores_as_sent():
    result = InvokeResult(deployment="rag-bot", text="ok", complete=True, latency_ms=1325.0481100000115,
                          retrievals=[{"document": "a", "score": 0.92}, {"document": "b", "score": 0.88}])
    shown = json.loads(final_bundle(result, "json", footer=False)["text/plain"])
    assert [r["score"] for r in shown["retrievals"]] == [0.92, 0.88] and shown["latency_ms"] == 1325.0
