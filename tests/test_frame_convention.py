"""One convention for every frame the package returns (README, "Frames"):

snake_case columns, times as ``datetime64[ms, UTC]``, flat cells (no dicts), a unique index, and
models named ``provider/model`` (the form ``prices=`` is keyed by).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
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
}


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
    assert re.fullmatch(r"[a-z0-9_]+", snake) and not snake.startswith("_") and not snake.endswith("_")
    assert snake_case(snake) == snake  # converting twice changes nothing
