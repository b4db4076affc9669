"""Claims the output makes about time: a replayed answer is labelled cached where its latency would be."""

import re

from orqmagic.render.markdown import footer_line
from orqmagic.result import InvokeResult


def test_a_cached_answer_says_cached_where_the_latency_is():
    live = InvokeResult(deployment="support-bot", text="hi", latency_ms=1326.0, ttft_ms=210.0, provider="openai",
                        model="gpt-4o-mini", usage={"prompt_tokens": 9, "completion_tokens": 96})
    replay = InvokeResult(**{**live.__dict__, "cached": True, "cached_at": 1_780_000_000.0})
    assert footer_line(live).split(" · ")[2:4] == ["latency 1.33 s", "TTFT 210 ms"]
    cached = footer_line(replay).split(" · ")
    assert cached[2].startswith("cached (from 20") and cached[2].endswith("; took 1.33 s then)")
    assert not any(part.startswith(("latency", "TTFT")) for part in cached)  # never the old latency as this call's
    assert cached[3] == "tokens 9 → 96"


# -- no winner within the tolerance -------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from orqmagic.evaluation.comparison import Comparison, latency_tolerance  # noqa: E402
from orqmagic.render.columns import summary_line  # noqa: E402


def comparison(latencies, tokens):
    return Comparison({label: InvokeResult(deployment=label, text="answer", latency_ms=ms, ttft_ms=ms / 4,
                                           usage={"prompt_tokens": 9, "completion_tokens": count})
                       for (label, ms), count in zip(latencies.items(), tokens, strict=True)})


def test_three_columns_within_ten_ms_and_equal_tokens_are_a_tie():
    cmp = comparison({"support-bot": 1210.0, "summarizer": 1200.0, "code-helper": 1205.0}, [96, 96, 96])
    info = cmp.summary()
    assert info["fastest"] is None and info["fastest_tied"] == ["summarizer", "code-helper", "support-bot"]
    assert info["fewest_tokens"] is None and len(info["fewest_tokens_tied"]) == 3
    line = summary_line(cmp, markdown=False)
    assert "fastest: tie, summarizer, code-helper, support-bot (1.20–1.21 s, within 120 ms)" in line
    assert "fewest tokens: tie, support-bot, summarizer, code-helper (96 each)" in line


def test_a_clear_lead_still_wins():
    info = comparison({"a": 400.0, "b": 1200.0, "c": 440.0}, [60, 96, 62]).summary()
    assert info["fastest"] is None and info["fastest_tied"] == ["a", "c"]  # 40 ms apart: within max(10 %, 50 ms)
    assert info["fewest_tokens"] is None and info["fewest_tokens_tied"] == ["a", "c"]  # 62 is within 5 % of 60
    info = comparison({"a": 400.0, "b": 1200.0, "c": 460.0}, [60, 96, 64]).summary()
    assert info["fastest"] == "a" and info["fewest_tokens"] == "a"  # 60 ms and 4 tokens (6.7 %) apart: a clear lead
    cmp = comparison({"a": 400.0, "b": 1200.0}, [60, 96])
    line = summary_line(cmp, markdown=False)
    assert "fastest: a (400 ms)" in line and "fewest tokens: a (60)" in line


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(1, 60_000, allow_nan=False), min_size=2, max_size=5),
       st.lists(st.integers(1, 4000), min_size=5, max_size=5), st.randoms(use_true_random=False))
def test_a_winner_is_named_only_when_everyone_else_is_outside_the_tolerance(latencies, tokens, random):
    labels = [f"col{i}" for i in range(len(latencies))]
    cmp = comparison(dict(zip(labels, latencies, strict=True)), tokens[:len(labels)])
    info = cmp.summary()
    best = min(latencies)
    clear = sum(ms - best <= latency_tolerance(best) for ms in latencies) == 1
    assert (info["fastest"] is not None) == clear
    if clear:
        assert cmp.results[info["fastest"]].latency_ms == best
    counts = tokens[:len(labels)]
    assert (info["fewest_tokens"] is not None) == (sum(c - min(counts) <= 0.05 * min(counts) for c in counts) == 1)
    shuffled = list(zip(labels, latencies, counts, strict=True))
    random.shuffle(shuffled)  # the verdict does not depend on the order of the columns
    again = comparison({label: ms for label, ms, _ in shuffled}, [c for *_, c in shuffled]).summary()
    assert (again["fastest"], sorted(again["fastest_tied"])) == (info["fastest"], sorted(info["fastest_tied"]))
    assert (again["fewest_tokens"], sorted(again["fewest_tokens_tied"])) == (info["fewest_tokens"],
                                                                              sorted(info["fewest_tokens_tied"]))


COLUMN = st.fixed_dictionaries({
    "state": st.sampled_from(["live", "live", "cached", "error", "interrupted", "no latency"]),
    "ms": st.floats(0, 60_000, allow_nan=False), "tokens": st.one_of(st.none(), st.integers(0, 4000))})


def column_result(label, column):
    state = column["state"]
    return InvokeResult(deployment=label, text="answer", complete=state != "interrupted",
                        interrupted=state == "interrupted", error="boom" if state == "error" else None,
                        latency_ms=None if state == "no latency" else column["ms"], cached=state == "cached",
                        usage={"prompt_tokens": 9, "completion_tokens": column["tokens"]})


@settings(max_examples=400, deadline=None)
@given(st.lists(COLUMN, min_size=1, max_size=5))
def test_no_winner_without_a_field_and_no_cached_latency_in_the_race(columns):
    """One column, or one left after the others failed, was crowned "fastest"; a cached column's stored
    latency (another call's) raced the live ones. Only columns timed in this call race, and only two or more."""
    cmp = Comparison({f"col{i}": column_result(f"col{i}", c) for i, c in enumerate(columns)})
    info = cmp.summary()
    racing = {f"col{i}": c["ms"] for i, c in enumerate(columns) if c["state"] == "live"}
    counted = {f"col{i}": c["tokens"] for i, c in enumerate(columns)
               if c["state"] in ("live", "cached", "no latency") and c["tokens"] is not None}
    named = [info["fastest"]] if info["fastest"] else info["fastest_tied"]
    assert set(named) <= set(racing) and (named != []) == (len(racing) >= 2)
    if info["fastest"]:
        best = min(racing.values())
        assert racing[info["fastest"]] == best
        assert all(ms - best > latency_tolerance(best) for label, ms in racing.items() if label != info["fastest"])
    named = [info["fewest_tokens"]] if info["fewest_tokens"] else info["fewest_tokens_tied"]
    assert set(named) <= set(counted) and (named != []) == (len(counted) >= 2)
    line = summary_line(cmp, markdown=False)
    assert ("fastest:" in line) == (len(racing) >= 2)
    assert all(label in line.split("cached: ")[1] for label, c in zip(cmp.labels, columns, strict=True)
               if c["state"] == "cached")


@settings(max_examples=100, deadline=None)
@given(st.lists(COLUMN, min_size=1, max_size=5))
def test_the_comparison_frame_says_which_latencies_are_an_earlier_calls(columns):
    """A cached column's stored latency sat in to_frame() like any other: a mean over it mixed in earlier calls."""
    cmp = Comparison({f"col{i}": column_result(f"col{i}", c) for i, c in enumerate(columns)})
    frame = cmp.to_frame()
    assert frame["cached"].tolist() == [c["state"] == "cached" for c in columns]
    assert {c: str(frame[c].dtype) for c in ("latency_ms", "completion_tokens", "cached")} == {
        "latency_ms": "float64", "completion_tokens": "Int64", "cached": "bool"}


TOKENS = st.one_of(st.none(), st.integers(0, 10**12))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens"]), TOKENS),
       st.one_of(st.none(), st.floats(0, 4e9, allow_nan=False)), st.booleans())
def test_a_footer_says_only_what_it_knows(usage, cached_at, cached):
    """A count the server left out read "tokens None → 96"; a cached answer's time was the local clock's,
    unlabelled, in a notebook read elsewhere. Counts are grouped (1,234,567), a cached time is UTC and says so."""
    result = InvokeResult(deployment="support-bot", text="hi", latency_ms=1326.0, usage=usage, cached=cached,
                          cached_at=cached_at)
    line = footer_line(result)
    assert "None" not in line
    for key in ("prompt_tokens", "completion_tokens"):
        if usage.get(key) is not None:
            assert f"{usage[key]:,}" in line
    if cached and cached_at is not None:
        assert re.search(r"cached \(from \d{4}-\d\d-\d\d \d\d:\d\d UTC; took 1\.33 s then\)", line), line
