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
