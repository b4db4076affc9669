"""The review queue attacked with inputs the other review tests do not hold: odd case labels, odd score values,
another frame under the same name, credentials in comments, and agreement statistics on awkward judged frames."""

from __future__ import annotations

import decimal
import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import ValidationError
from orqmagic.evaluation import stats
from orqmagic.evaluation.review import Agreement, ReviewSession, load_review
from orqmagic.store import default_store

pytestmark = pytest.mark.timeout(120)
def fixtures(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_IDS: list[str] = []
_names = itertools.count()


@pytest.fixture
def ids(sandbox):
    """Response ids the sandbox knows (feedback for an unknown id is a 404), made once for the module."""
    if not _IDS:
        from orqmagic.clients import OrqClient

        with OrqClient(base_url=sandbox.url, api_key=sandbox.key) as orq:
            _IDS.extend(orq.invoke("support-bot", messages=[{"role": "user", "content": f"q{i}"}],
                                   mock_response=f"answer {i}")["id"] for i in range(8))
    return _IDS


def arrived(sandbox, queue: str) -> list[dict]:
    return [r for r in sandbox.received("orq.metrics") if (r["body"].get("metadata") or {}).get("review") == queue]


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


# -- case labels: any the store can key is kept and sent once; any other is one ValidationError, nothing kept ------

storable = st.one_of(st.integers(-10**6, 10**6), st.text(max_size=12), st.booleans(),
                     st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: not f.is_integer()))
unstorable = st.sampled_from([math.nan, math.inf, -math.inf, pd.Timestamp("2024-01-01"), pd.Timedelta("1s"),
                              b"bytes", decimal.Decimal("1.5"), "half \ud83d emoji", pd.Period("2024-01", freq="M")])
label = st.one_of(storable, st.tuples(storable, storable))


@fixtures(30)
@given(st.lists(label, min_size=1, max_size=4), st.one_of(st.none(), unstorable), st.integers(0, 3))
def test_odd_case_labels_are_kept_and_sent_once_or_refused_before_anything(sandbox_env, ids, labels, bad, where):
    from orqmagic.store.reviews import case_key

    keys = [case_key(v) for v in labels]
    assume(len(set(keys)) == len(keys))
    if bad is not None:
        labels = [*labels[:where], bad, *labels[where:]]
    frame = pd.DataFrame({"text": [f"a{i}" for i in range(len(labels))], "id": ids[:len(labels)]},
                         index=pd.Index(labels, dtype=object, tupleize_cols=False))
    name = fresh("labels")
    if bad is not None:
        with pytest.raises(ValidationError, match="cannot be kept in the store") as info:
            orqmagic.review(frame, name=name)
        assert info.value.field == "results" and "\n" not in str(info.value)
        with pytest.raises(ValidationError, match="no review named"):
            load_review(name)
        assert not arrived(sandbox_env, name)
        return
    queue = orqmagic.review(frame, name=name)
    for case in queue.session.cases:
        queue.record(case, 4)
        queue.record(case, 4)  # the same value again: not sent twice
    assert queue.wait_sent()
    got = arrived(sandbox_env, name)
    assert sorted(case_key(r["body"]["metadata"]["case"]) for r in got) == sorted(keys)
    assert sorted(map(case_key, load_review(name)["case"])) == sorted(keys)
    assert ReviewSession(frame, name=name, send=False).scored == len(labels)


@fixtures(20)
@given(st.sampled_from([math.nan, pd.Timestamp("2024-01-01"), object(), b"0", [[0]]]))
def test_recording_an_unknown_case_of_any_type_is_one_validation_error(sandbox_env, case):
    session = ReviewSession(pd.DataFrame({"text": ["a"]}), name=fresh("unknown-case"), send=False)
    with pytest.raises(ValidationError, match="not in this queue"):
        session.record(case, 3)
    assert not session.reviews


# -- score values: exactly the scale's values (bools only for thumbs), anything else refused, nothing sent ----------

SCALES = {"five": (1, 5), "thumbs": "thumbs", "labels": ["bad", "ok", "good"], "signed": (-2, 2)}
odd_values = st.one_of(
    st.sampled_from([True, False, np.True_, np.False_, pd.NA, pd.NaT, math.nan, "5", "ok", np.str_("ok"), np.str_("good"),
                     decimal.Decimal(4), 4 + 0j, [4], (4,), np.int64(4), np.float64(4.0), np.uint8(1), -2.0, 2**64]),
    st.integers(-3, 6), st.floats(-3, 6, allow_nan=False))


def accepted(scale: str, value) -> object | None:
    """What the scale should take ``value`` as (an oracle written apart from Scale.check), or None."""
    values = {"five": [1, 2, 3, 4, 5], "thumbs": [0, 1], "labels": ["bad", "ok", "good"], "signed": [-2, -1, 0, 1, 2]}[scale]
    if isinstance(value, (bool, np.bool_)):
        return int(value) if scale == "thumbs" else None
    if isinstance(value, str):
        return str(value) if str(value) in values else None
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()):
        return int(value) if scale != "labels" and int(value) in values else None
    return None


@fixtures(60)
@given(st.sampled_from(sorted(SCALES)), odd_values)
def test_a_score_is_a_value_of_the_scale_or_one_validation_error_with_nothing_sent(sandbox_env, ids, scale, value):
    name = fresh("values")
    session = ReviewSession(pd.DataFrame({"text": ["a"], "id": ids[:1]}), name=name, scale=SCALES[scale])
    want = accepted(scale, value)
    if want is None:
        with pytest.raises(ValidationError) as info:
            session.record(0, value)
        assert info.value.field == "score" and session.review_of(0) is None
    else:
        review = session.record(0, value)
        assert review.score == want and type(review.score) is type(want)
    assert session.wait_sent()
    sent = [r["body"]["metadata"]["value"] for r in arrived(sandbox_env, name)]
    assert sent == ([] if want is None else [want])


# -- the same name over another frame: refused whenever an answer scored differs ------------------------------------

answer = st.tuples(st.booleans(), st.integers(0, 2))  # (has an id, which text)


@fixtures(40)
@given(st.lists(answer, min_size=1, max_size=3), st.data())
def test_scores_never_attach_to_another_frames_answers(sandbox_env, ids, before, data):
    after = data.draw(st.lists(answer, min_size=len(before), max_size=len(before)))
    with_ids = data.draw(st.booleans())  # a frame with an id column, or one without (a CSV of answers)

    def frame(answers, offset):
        columns = {"text": [f"text {t}" for _, t in answers]}
        if with_ids:  # the same text in two runs is still two responses: another id
            columns["id"] = [ids[offset + t] if has else None for has, t in answers]
        return pd.DataFrame(columns)

    name = fresh("other")
    scored = data.draw(st.sets(st.integers(0, len(before) - 1), min_size=1))
    first = ReviewSession(frame(before, 0), name=name, send=False)
    for case in scored:
        first.record(case, 3)
    same_run = data.draw(st.booleans())
    second = frame(before, 0) if same_run else frame(after, 3)
    def other(c: int) -> bool:  # an id on either side decides (ids differ between runs); else the texts do
        return True if with_ids and (before[c][0] or after[c][0]) else before[c][1] != after[c][1]

    differs = not same_run and any(other(c) for c in scored)
    if differs:
        with pytest.raises(ValidationError, match="holds scores for other answers"):
            ReviewSession(second, name=name, send=False)
    else:
        assert ReviewSession(second, name=name, send=False).scored == len(scored)


# -- credentials in comments: never stored, sent or shown, whatever surrounds them ----------------------------------

@fixtures(15)
@given(st.text(max_size=20), st.text(max_size=20))
def test_base_url_credentials_in_a_comment_are_never_kept_or_sent(sandbox_env, ids, monkeypatch, before, after):
    from orqmagic.clients import shared

    monkeypatch.setenv("ORQ_BASE_URL",
                       sandbox_env.url.replace("http://", "http://ada:Hunter2Canary@") + "?token=tok_canary_98765")
    shared.clear()
    name = fresh("url-creds")
    queue = orqmagic.review(pd.DataFrame({"text": ["a"], "id": ids[:1]}), name=name)
    queue.record(0, 4, comment=f"{before} see http://ada:Hunter2Canary@host?token=tok_canary_98765 {after}")
    assert queue.wait_sent()
    texts = [load_review(name).loc[0, "comment"], queue.comment.value, queue.summary(), queue.summary_html(),
             repr(queue), *(r["body"]["metadata"]["comment"] for r in arrived(sandbox_env, name))]
    assert len(texts) == 6
    for text in texts:
        assert "Hunter2Canary" not in text and "canary_98765" not in text
    raw = b"".join(p.read_bytes() for p in default_store().path.parent.glob("orqmagic.sqlite3*"))
    assert b"Hunter2Canary" not in raw and b"canary_98765" not in raw


@fixtures(20)
@given(st.text(alphabet=st.sampled_from(["a", "\ud800", "\udfff", "\ud83d", "😀", " "]), min_size=1, max_size=10))
def test_a_comment_with_lone_surrogates_is_kept_not_lost(sandbox_env, ids, comment):
    name = fresh("surrogates")
    session = ReviewSession(pd.DataFrame({"text": ["a"], "id": ids[:1]}), name=name)
    review = session.record(0, 2, comment=comment)
    assert session.wait_sent() and review.score == 2
    kept = load_review(name).loc[0, "comment"]
    kept.encode("utf-8")  # no lone surrogate left to break the store or JSON
    rest = iter(kept)
    assert len(kept) <= len(comment.strip())
    assert all(c in rest for c in comment.strip() if not 0xD800 <= ord(c) <= 0xDFFF)  # every real character, in order
    assert len(arrived(sandbox_env, name)) == 1


# -- agreement: missing judge values left out, numbers compared as numbers, honest rounding -------------------------

def kappa_reference(first: list, second: list) -> float:
    """Cohen's kappa from the confusion matrix (as sklearn computes it), NaN where chance agreement is 1."""
    labels = sorted(set(first) | set(second), key=repr)
    index = {v: i for i, v in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)))
    for a, b in zip(first, second, strict=True):
        matrix[index[a], index[b]] += 1
    n = matrix.sum()
    observed = np.trace(matrix) / n
    expected = (matrix.sum(axis=1) @ matrix.sum(axis=0)) / n**2
    return math.nan if expected >= 1 else (observed - expected) / (1 - expected)


missing = st.sampled_from([None, math.nan, pd.NA])


@fixtures(40)
@given(st.lists(st.tuples(st.integers(1, 5), st.one_of(st.integers(1, 5), missing), st.booleans()), min_size=1,
                max_size=12), st.sampled_from(["int", "str", "Int64", "float"]))
def test_numeric_agreement_matches_scipy_with_gaps_and_string_numbers(sandbox_env, rows, kind):
    from scipy.stats import spearmanr

    human = [h for h, _, _ in rows]
    judge = [j for _, j, _ in rows]
    errors = [("timeout" if e else None) for _, _, e in rows]
    if kind == "str":
        judge = [None if j is None or j is pd.NA or j != j else str(j) for j in judge]
    column = (pd.array([None if j is None or j is pd.NA or j != j else j for j in judge], dtype="Int64")
              if kind == "Int64" else pd.Series([math.nan if j is pd.NA else j for j in judge], dtype=float)
              if kind == "float" else pd.Series(judge, dtype=object))
    judged = pd.DataFrame({"text": ["t"] * len(rows), "score": column,
                           "judge_error": pd.array(errors, dtype="string")})
    session = ReviewSession(judged, name=fresh("agree"), send=False)
    for case, h in enumerate(human):
        session.record(case, h)
    result = session.agreement(judged)
    pairs = [(h, float(j)) for h, j, e in zip(human, judge, errors, strict=True)
             if e is None and j is not None and j is not pd.NA and j == j]
    assert result["cases"] == len(pairs)
    if pairs:
        assert result["agreement"] == pytest.approx(sum(h == j for h, j in pairs) / len(pairs))
    hs, js = [h for h, _ in pairs], [j for _, j in pairs]
    if len(pairs) >= 2 and len(set(hs)) > 1 and len(set(js)) > 1:
        assert result["spearman"] == pytest.approx(spearmanr(hs, js).statistic, abs=1e-9)
    else:
        assert math.isnan(result["spearman"])
    shown = repr(result) + result._repr_html_()
    assert "nan" not in shown.lower()


@fixtures(40)
@given(st.lists(st.tuples(st.sampled_from(["bad", "ok", "good"]), st.sampled_from(["bad", "ok", "good", "Good", 1])),
                min_size=1, max_size=12))
def test_label_agreement_matches_a_reference_kappa_or_refuses_off_scale_judges(sandbox_env, pairs):
    human, judge = [h for h, _ in pairs], [j for _, j in pairs]
    judged = pd.DataFrame({"text": ["t"] * len(pairs), "score": pd.Series(judge, dtype=object)})
    session = ReviewSession(judged, name=fresh("kappa"), scale=["bad", "ok", "good"], send=False)
    for case, h in enumerate(human):
        session.record(case, h)
    if any(j not in ("bad", "ok", "good") for j in judge):
        with pytest.raises(ValidationError, match="not on this queue's scale") as info:
            session.agreement(judged)
        assert info.value.field == "column"
        return
    result = session.agreement(judged)
    reference = kappa_reference(human, judge)
    if math.isnan(reference):
        assert math.isnan(result["cohen_kappa"]) and "undefined" in repr(result)
    else:
        assert result["cohen_kappa"] == pytest.approx(reference, abs=1e-12)
        assert result["cohen_kappa"] == pytest.approx(stats.cohen_kappa(human, judge), abs=1e-12)


@given(st.integers(1, 10_000), st.data(), st.sampled_from(["cohen_kappa", "spearman"]))
def test_shown_numbers_never_claim_more_than_the_data(cases, data, statistic):
    agree = data.draw(st.integers(0, cases))
    value = data.draw(st.one_of(st.floats(-1, 1), st.just(math.nan), st.sampled_from([0.995, -0.9951, 0.004, -0.004])))
    result = Agreement("q", "score", cases, agree / cases, statistic, value)
    text = repr(result)
    rate = re.search(r"agreement ([\d.,]+) %", text).group(1)
    assert (rate == "100") == (agree == cases) and (rate == "0") == (agree == 0)
    shown = re.search(r"(?:kappa|rho) (\S+)", text).group(1)
    if math.isnan(value):
        assert shown == "—" and "nan" not in text.lower()
    else:
        assert (shown in ("1.00", "-1.00")) == (abs(value) == 1.0) and abs(float(shown) - value) < 0.006
    assert f"{cases} case{'s' if cases != 1 else ''} both scored" in text
