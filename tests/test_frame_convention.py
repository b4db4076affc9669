"""One convention for every frame the package returns (README, "Frames"):

snake_case columns, times as ``datetime64[ms, UTC]``, flat cells (no dicts), a unique index, and
models named ``provider/model`` (the form ``prices=`` is keyed by).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic.api import list_deployments
from orqmagic.frames.convention import records_frame, snake_case
from orqmagic.frames.overview import metrics_overview
from orqmagic.store.cache import response_cache

SNAKE = re.compile(r"[a-z][a-z0-9_]*")
TIME_NAMES = re.compile(r"^(time|created|updated)$|_at$")
ROWS = [{"topic": t} for t in ("billing", "refunds", "api keys")]


def check(frame: pd.DataFrame | pd.Series) -> None:
    assert frame.index.is_unique, "repeated index labels"
    if isinstance(frame.index, pd.DatetimeIndex):
        assert str(frame.index.dtype) == "datetime64[ms, UTC]"
    if isinstance(frame, pd.Series):
        assert all(isinstance(k, str) and SNAKE.fullmatch(k) for k in frame.index)
        return
    bad = [c for c in frame.columns if not (isinstance(c, str) and SNAKE.fullmatch(c))]
    assert bad == [], f"columns not snake_case: {bad}"
    for column in frame.columns:
        dtype = frame[column].dtype
        if TIME_NAMES.search(column) or pd.api.types.is_datetime64_any_dtype(dtype):
            assert str(dtype) == "datetime64[ms, UTC]", f"{column}: {dtype}"
        assert not frame[column].map(lambda v: isinstance(v, dict)).any(), f"{column} holds dicts"
    if "model" in frame.columns:
        models = frame["model"].dropna()
        assert models.map(lambda m: isinstance(m, str) and "/" in m).all(), list(models)


def _comparison():
    return orqmagic.compare(["support-bot", "summarizer"], "hi", display=False).to_frame()


def _run(trials: int):
    name = f"convention-{trials}"
    frame = orqmagic.invoke_many("support-bot", ROWS, prompt="{{topic}}", trials=trials, run=name, overwrite=True,
                                 cache=True, progress=False)
    return frame


FRAMES = {
    "list_metrics": lambda: (orqmagic.create_metric("Convention", source="HUMAN_EVALUATION"),
                             orqmagic.list_metrics(include_legacy=True))[1],
    "list_deployments": list_deployments,
    "fetch_metrics SERIES": lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", start="6h"),
    "fetch_metrics SUMMARY": lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="SUMMARY", start="7d"),
    "fetch_metrics CURRENT": lambda: orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="CURRENT"),
    "wide_metrics": lambda: orqmagic.wide_metrics(orqmagic.fetch_metrics("llama-chat", "prod-v3", start="2h")),
    "metrics_overview": lambda: metrics_overview(orqmagic.fetch_metrics("llama-chat", "prod-v3", start="2h")),
    "invoke_many": lambda: _run(1),
    "invoke_many trials": lambda: _run(3),
    "runs": lambda: (_run(2), orqmagic.runs())[1],
    "load_run trials": lambda: (_run(3), orqmagic.load_run("convention-3"))[1],
    "Comparison.to_frame": _comparison,
    "summarize": lambda: orqmagic.summarize(_run(3)),
    "send_scores": lambda: orqmagic.send_scores(_run(1).assign(score=[90, 10, 50])),
    "cache entries": lambda: (_run(1), response_cache().entries())[1],
    "judge": lambda: _judged(_run(1)),
    "judge trials": lambda: _judged(_run(3)),
    "pairwise frame": lambda: _pairwise().frame,
    "pairwise summary": lambda: _pairwise().summary.to_series(),
    "pairwise summary table": lambda: _pairwise().summary.table(),
    "Comparison.judge": lambda: orqmagic.compare(["support-bot", "summarizer"], "hi", display=False).judge(
        _METRIC, expected="hello", judge="judge-bot", progress=False),
    "judged comparison over a dataset": lambda: _scored().cases(),
    "judged comparison table": lambda: _scored().table(),
}
_METRIC = orqmagic.Metric("Correctness", "Score it.", ["input", "actualOutput", "expectedOutput"])


def _judged(frame):
    return orqmagic.judge(frame.assign(input=frame["topic"], expected="billing refunds"), _METRIC, judge="judge-bot",
                          trials=2, progress=False)


def _pairwise():
    a, b = (orqmagic.invoke_many(k, ROWS, prompt="{{topic}}", progress=False) for k in ("summarizer", "support-bot"))
    return orqmagic.pairwise(_judged(a), _judged(b), criteria="Which is more complete?", judge="judge-bot",
                             progress=False)


def _scored():
    from orqmagic.evaluation.dataset_judge import judge_over

    cases = pd.DataFrame(ROWS).rename(columns={"topic": "question"}).assign(expected="billing")
    return judge_over(["summarizer", "support-bot"], cases, prompt="{{question}}", metric=_METRIC, judge="judge-bot",
                      progress=False)


@pytest.mark.parametrize("name", list(FRAMES))
def test_every_frame_follows_the_convention(sandbox_env, name):
    frame = FRAMES[name]()
    assert len(frame) > 0
    check(frame)


def test_trials_keep_a_unique_index_with_case_and_trial_columns(sandbox_env):
    frame = _run(3)
    assert list(frame[["case", "trial"]].itertuples(index=False, name=None)) == [(c, t) for c in range(3) for t in (1, 2, 3)]
    assert frame.groupby("case")["trial"].count().tolist() == [3, 3, 3]
    assert frame["model"].eq("openai/gpt-4o-mini").all()  # the key prices= uses


def test_outbox_frame_follows_the_convention(ip, sandbox):
    answer_id = orqmagic.invoke("support-bot", "hello", display=False).id
    sandbox.set_faults("status=503,match=/v2/deployments/" + answer_id)
    assert orqmagic.add_metrics(answer_id, score=1).status == "queued"
    check(ip.run_line_magic("orq", "outbox"))
    check(ip.run_line_magic("orq", "deployments"))


def test_api_records_become_convention_frames():
    frame = records_frame([{"metricGroupID": "g", "createdAt": "2026-01-02T03:04:05.678Z", "model": {"provider": "openai",
                           "model": "gpt-4o"}, "messages": [{"role": "system", "content": "x"}], "tags": ["a"]}])
    assert list(frame.columns) == ["metric_group_id", "created_at", "messages", "tags", "model_provider", "model_model"]
    assert frame.loc[0, "created_at"] == pd.Timestamp("2026-01-02T03:04:05.678Z")
    assert frame.loc[0, "messages"] == '[{"role": "system", "content": "x"}]' and frame.loc[0, "tags"] == ["a"]
    assert [snake_case(n) for n in ("createdAt", "p99.9", "HTTPStatus", "already_snake")] == [
        "created_at", "p99_9", "http_status", "already_snake"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_api_name_becomes_one_stable_snake_case_name(name):
    snake = snake_case(name)
    assert re.fullmatch(r"[^\W_]+(_[^\W_]+)*", snake) and snake == snake.lower()  # letters of any script
    assert snake_case(snake) == snake  # converting twice changes nothing
    if name.isascii():
        assert re.fullmatch(r"[a-z0-9_]+", snake)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6))
def test_api_fields_whose_names_meet_are_never_dropped(record):
    """``名前`` and ``値`` both became ``value`` and one was dropped; ``createdAt`` beside ``created_at`` lost
    the second. Every field's value is still in the frame, under a unique name (time-named fields are times)."""
    assume(not any(TIME_NAMES.search(re.sub(r"_\d+$", "", snake_case(k))) for k in record))
    frame = records_frame([record])
    assert frame.columns.is_unique and len(frame) == 1
    shown = frame.iloc[0].tolist()
    for value in record.values():
        assert value in shown
    assert len(frame.columns) == len({(snake_case(k), v) for k, v in record.items()})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.b", "a_b", "A B", "名前", "値", "x"]),
                          st.sampled_from(["value", "p50", "P50", "2xx"])), min_size=1, max_size=8, unique=True))
def test_wide_metrics_keeps_one_column_per_metric_and_series(pairs):
    """``a.b``/``a_b`` (and any two names that meet once snake-cased) were pivoted into one column, one value lost."""
    time = pd.Timestamp("2026-01-01", tz="UTC")
    frame = pd.DataFrame({"time": [time] * len(pairs), "metric": [m for m, _ in pairs],
                          "series": [s for _, s in pairs], "value": [float(i) for i in range(len(pairs))],
                          "unit": "SECONDS", "kind": "GAUGE"})
    wide = orqmagic.wide_metrics(frame)
    assert wide.columns.is_unique and len(wide.columns) == len(pairs)
    assert sorted(wide.iloc[0].tolist()) == [float(i) for i in range(len(pairs))]


def test_an_empty_overview_has_the_dtypes_of_a_full_one(baseten):
    full = metrics_overview(orqmagic.fetch_metrics("llama-chat", "prod-v3", start="2h", baseten=baseten))
    empty = metrics_overview(orqmagic.fetch_metrics("llama-chat", "prod-v3", start="2h", baseten=baseten).iloc[:0])
    assert empty.dtypes.to_dict() == full.dtypes.to_dict() and len(empty) == 0


# -- one dtype per column, whatever the rows hold -------------------------------------------------

import math  # noqa: E402
import pickle  # noqa: E402

from orqmagic.evaluation.stats import cost  # noqa: E402
from orqmagic.store.runs import results_frame  # noqa: E402

ROW_RESULT = st.one_of(
    st.builds(lambda ms, tokens, cached: {"text": "ok", "id": "r", "model": "openai/gpt-4o-mini", "latency_ms": ms,
                                  "ttft_ms": ms / 4, "prompt_tokens": tokens, "completion_tokens": tokens,
                                  "finish_reason": "stop", "error": None, "cached": cached},
              st.floats(0, 1e5, allow_nan=False), st.one_of(st.none(), st.integers(0, 10**6)), st.booleans()),
    st.just({"text": None, "id": None, "model": None, "latency_ms": None, "ttft_ms": None, "prompt_tokens": None,
             "completion_tokens": None, "finish_reason": None, "error": "boom", "cached": False}))
CANONICAL = {"latency_ms": "float64", "ttft_ms": "float64", "prompt_tokens": "Int64", "completion_tokens": "Int64",
             "cached": "bool"}


@settings(max_examples=200, deadline=None)
@given(st.lists(ROW_RESULT, max_size=6), st.integers(1, 3), st.sampled_from(["topic", "问题", "café au lait"]))
def test_result_columns_keep_one_dtype_whatever_the_rows_hold(results, trials, column):
    """No rows, errors only, or a row without usage turned timings and tokens into object columns or
    counts into floats (96.0); a nullable count then broke summarize and made the cost <NA>."""
    inputs = pd.DataFrame({column: [f"case {i}" for i in range(len(results))]})
    slots = [(i, t) for i in range(len(results)) for t in range(1, trials + 1)]
    rows = [r for r in results for _ in range(trials)]
    frame = results_frame(inputs, slots, rows, trials=trials, extra=["cached"])
    assert {c: str(frame[c].dtype) for c in CANONICAL} == CANONICAL
    assert column in frame and frame.index.is_unique
    back = pickle.loads(pickle.dumps(frame))
    pd.testing.assert_frame_equal(back, frame)
    frame.attrs["deployment"] = "support-bot"
    summary = orqmagic.summarize(frame)
    assert summary["rows"] == len(rows) and summary["prompt_tokens"] == sum(
        r["prompt_tokens"] or 0 for r in rows if r["error"] is None)
    replayed = sum(bool(r["cached"]) for r in rows)  # timings of earlier calls: the summary says how many
    assert summary.get("cached", 0) == replayed and (replayed == 0) == ("cached" not in summary.index)
    repr(summary), summary._repr_html_()
    estimate, _ = cost(frame, {"openai/gpt-4o-mini": (1.0, 1.0)})
    assert math.isclose(estimate, 2 * summary["prompt_tokens"] / 1e6)


def test_a_nullable_score_column_with_a_blank_is_summarised():
    frame = results_frame(pd.DataFrame({"topic": ["a", "b", "c"]}), [(0, 1), (1, 1), (2, 1)], [
        {"text": "ok", "latency_ms": 10.0, "error": None, "prompt_tokens": 1, "completion_tokens": 2}] * 3, trials=1)
    frame["score"] = pd.array([90, None, 10], dtype="Int64")
    assert orqmagic.summarize(frame)["score_mean"] == 50


def test_fields_that_meet_keep_each_distinct_value_once():
    frame = records_frame([{"createdAt": "2026-01-01T00:00:00Z", "created_at": "2025-01-01T00:00:00Z",
                            "Created At": "2025-01-01T00:00:00Z", "x": 1, "X": 1}])
    assert list(frame.columns) == ["created_at", "created_at_2", "x"]
    assert str(frame["created_at_2"].dtype) == "datetime64[ms, UTC]"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=10).filter(str.isidentifier), st.text(max_size=20))
def test_a_column_named_in_any_script_fills_its_placeholder(name, value):
    """``{{问题}}`` was not recognised as a placeholder and went out as literal text, with no error."""
    from orqmagic.evaluation.templates import TemplateError, interpolate

    assert interpolate(f"Q: {{{{{name}}}}}!", {name: value}) == f"Q: {value}!"
    with pytest.raises(TemplateError):
        interpolate(f"{{{{{name}}}}}", {})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 1e7, allow_nan=False)), min_size=1, max_size=30),
       st.sampled_from(["GAUGE", "COUNTER", "HISTOGRAM"]), st.sampled_from(["SECONDS", "BYTES", "COUNT", "RATIO"]))
def test_an_overview_row_never_shows_a_spread_as_none(values, kind, unit):
    """At four digits a min of 1234.51 and a max of 1234.54 both read 1235: a row claiming a flat series."""
    times = pd.date_range("2026-01-01", periods=len(values), freq="min", tz="UTC")
    frame = pd.DataFrame({"time": times, "metric": "m", "series": "p50", "unit": unit, "kind": kind,
                          "value": [np.nan if v is None else v for v in values]})
    (row,) = metrics_overview(frame).to_dict("records")
    present = [v for v in values if v is not None]
    if present:
        assert (row["min"] == row["max"]) == (min(present) == max(present))
        assert (row["last"] == row["min"]) == (present[-1] == min(present))
        assert (row["last"] == row["max"]) == (present[-1] == max(present))
    else:
        assert math.isnan(row["min"]) and row["steps_with_data"] == 0


def test_an_empty_store_lists_runs_and_cache_entries_with_the_dtypes_of_a_full_one(sandbox_env):
    """With nothing stored, runs() and the cache's entries had object columns where counts are int64."""
    empty = orqmagic.runs(), response_cache().entries()
    _run(1)
    full = orqmagic.runs(), response_cache().entries()
    for before, after in zip(empty, full, strict=True):
        assert len(before) == 0 and len(after) > 0
        numeric = {c: str(t) for c, t in after.dtypes.items() if not pd.api.types.is_string_dtype(t)}
        assert {c: str(before[c].dtype) for c in numeric} == numeric
