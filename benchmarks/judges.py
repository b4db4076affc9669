"""10. Judges: what judging adds to the judge calls, and the pairwise summary of many pairs.

(a) 1,000 rows judged by the sandbox's judge-bot, concurrency 16, at unlimited
rate: ``orqmagic.judge(...)`` (prompts built from the rows, answers parsed
strictly, the scored copy) against ``invoke_many`` of the very same judge
prompts. judge() sends its calls through invoke_many itself, so the figure with
the target is, per judge() call, its whole time over the time of the
invoke_many inside it (everything judging adds), median of the repeats. On a
busy 2-core machine two separate batches drift by more than that, so the paired
wall-time ratio of separate runs (alternating order, median) is reported too,
with its spread, without a target.
(b) The pairwise summary of 10,000 pairs (B's win rate with its exact interval,
the sign test, the inconsistency rate, cases needed, the sentence): medians of
15, with winners only and with a paired bootstrap of score differences too
(target ≤ 0.2 s each).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time

import pandas as pd

import orqmagic

from ._common import Figure, environment, interleaved, sandbox_process
from .evaluation import paired


def run(quick: bool) -> list[Figure]:
    from orqmagic.evaluation.judging import judged_metric, plan_rows
    from orqmagic.evaluation.pair_summary import PairwiseSummary
    from orqmagic.evaluation.pairstats import summarize_pairs
    from orqmagic.evaluation.prompts import columns_for

    rows, repeat, summaries = (300, 3, 5) if quick else (1000, 9, 15)
    rng = random.Random(7)
    frame = pd.DataFrame({
        "question": [f"question {i} about keys" for i in range(rows)],
        "text": [" ".join(rng.choice(["keys", "rotate", "settings", "valid", "hours", "old"]) for _ in range(30))
                 for _ in range(rows)],
        "expected": ["The old key stays valid for 24 hours after rotating it in settings."] * rows,
    })
    metric = orqmagic.Metric("Correctness", "Score it.", ["input", "actualOutput", "expectedOutput"])
    mapping = columns_for(metric.evaluation_params, frame.columns, None, what="metric")
    _, prompts, _ = plan_rows(frame, judged_metric(metric), mapping)
    calls = pd.DataFrame({"judge_prompt": prompts})
    with sandbox_process() as (url, key), tempfile.TemporaryDirectory() as home, \
            environment(ORQ_BASE_URL=url, ORQ_API_KEY=key, ORQMAGIC_HOME=home):
        def bare() -> None:
            orqmagic.invoke_many("judge-bot", calls, prompt="{{judge_prompt}}", concurrency=16, progress=False)

        import orqmagic.evaluation.batch as engine

        original, own = engine.invoke_many, []

        def timed(*args: object, **kwargs: object) -> pd.DataFrame:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timed.inner = time.perf_counter() - started  # type: ignore[attr-defined]

        def judged() -> None:
            started = time.perf_counter()
            out = orqmagic.judge(frame, metric, judge="judge-bot", concurrency=16, progress=False)
            own.append((time.perf_counter() - started) / timed.inner)  # type: ignore[attr-defined]
            assert out["judge_error"].isna().all()

        engine.invoke_many = timed  # judge() imports it when called, so it gets the timed one
        try:
            bare()  # warm up: connections, imports
            judged()
            own.clear()
            times, ratios = paired(bare, judged, repeat)
        finally:
            engine.invoke_many = original

    winners = [rng.choice(["A", "B", "B", "tie"]) for _ in range(10_000)]
    differences = [round(rng.random(), 2) - round(rng.random(), 2) for _ in range(10_000)]

    def plain_summary() -> None:
        assert PairwiseSummary(summarize_pairs(winners, inconsistent=900), "A", "B").sentence

    def with_scores() -> None:
        assert PairwiseSummary(summarize_pairs(winners, inconsistent=900, differences=differences), "A", "B").sentence

    with_scores()
    summary = interleaved({"plain": plain_summary, "scores": with_scores}, summaries)
    spread = f"median of {len(ratios)} paired ratios; pairs ranged {min(ratios):.3f}× to {max(ratios):.3f}×"
    return [
        Figure(f"judges: invoke_many of {rows} judge prompts", times["plain"], "s"),
        Figure(f"judges: judge() of the same {rows} rows", times["run"], "s"),
        Figure("judges: judge() / the invoke_many of its calls", statistics.median(own), "ratio", target=1.1,
               note=f"median of {len(own)}; ranged {min(own):.3f}× to {max(own):.3f}×"),
        Figure("judges: judge() / a separate invoke_many of the same calls", statistics.median(ratios), "ratio",
               note=spread),
        Figure("judges: pairwise summary of 10,000 pairs", summary["plain"], "s", target=0.2),
        Figure("judges: same, with a bootstrap of 10,000 score differences", summary["scores"], "s", target=0.2),
    ]


if __name__ == "__main__":
    started = time.perf_counter()
    for figure in run(quick=False):
        print(figure.line())
    print(f"({time.perf_counter() - started:.1f} s)")
