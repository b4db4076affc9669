"""Claims the output makes about time: a replayed answer is labelled cached where its latency would be."""

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
