"""6. Evaluation runs: the cost of checkpointing a named run, and replaying a cached stream.

(a) 1,000 rows at unlimited rate and no added latency (the worst case for the
checkpoint's share: every row's own cost is as small as it gets), concurrency
16, with ``run=`` (every row recorded in the store as it finishes) against the
same batch without it. On 2 cores one batch's time drifts by more than the
checkpoint costs, so the runs are paired, in alternating order (plain-run,
run-plain, ...), and the figure is the median of the per-pair ratios, with
their spread in the note.
(b) A 5,000-chunk answer: ``invoke(..., cache=True)`` replayed from the store
against the same call streamed live from the sandbox at unlimited rate.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable

import pandas as pd

import orqmagic

from ._common import Figure, environment, interleaved, sandbox_process

CHUNKS = 5000


def run(quick: bool) -> list[Figure]:
    rows, repeat, stream_repeat = (300, 3, 5) if quick else (1000, 9, 15)
    frame = pd.DataFrame({"q": [f"question {i}" for i in range(rows)]})
    text = " ".join(f"w{i}" for i in range(CHUNKS))
    with sandbox_process() as (url, key), tempfile.TemporaryDirectory() as home, environment(ORQ_BASE_URL=url, ORQ_API_KEY=key, ORQMAGIC_HOME=home):
        def plain() -> None:
            orqmagic.invoke_many("support-bot", frame, prompt="{{q}}", concurrency=16, progress=False)

        def checkpointed() -> None:
            orqmagic.invoke_many("support-bot", frame, prompt="{{q}}", concurrency=16, progress=False,
                                 run="bench", overwrite=True)

        plain()  # warm up: connections, imports, the store's schema
        checkpointed()
        batch, ratios = paired(plain, checkpointed, repeat)

        def live() -> None:
            orqmagic.invoke("support-bot", display=False, mock_response=text)

        def replay() -> None:
            assert orqmagic.invoke("support-bot", display=False, mock_response=text, cache=True).cached

        orqmagic.invoke("support-bot", display=False, mock_response=text, cache=True)  # fill the cache
        live()
        stream = interleaved({"live": live, "replay": replay}, stream_repeat)
    overhead = (statistics.median(ratios) - 1) * 100
    spread = f"median of {len(ratios)} paired ratios; pairs ranged {(min(ratios) - 1) * 100:+.1f} % to {(max(ratios) - 1) * 100:+.1f} %"
    return [
        Figure(f"evaluation: batch of {rows} rows, no run", batch["plain"], "s"),
        Figure("evaluation: same batch with run= (each row recorded)", batch["run"], "s"),
        Figure("evaluation: checkpoint overhead", overhead, "%", target=5, note=spread),
        Figure(f"evaluation: {CHUNKS:,}-chunk stream, live at unlimited rate", stream["live"] * 1000, "ms"),
        Figure(f"evaluation: {CHUNKS:,}-chunk stream, replayed from the cache", stream["replay"] * 1000, "ms"),
        Figure("evaluation: replay / live", stream["replay"] / stream["live"], "ratio", target=1.0),
    ]


def paired(plain: Callable[[], object], checkpointed: Callable[[], object], repeat: int) -> tuple[dict[str, float], list[float]]:
    """Median seconds of each, and the run/plain ratio of every pair (the order alternates, so drift cancels)."""
    times: dict[str, list[float]] = {"plain": [], "run": []}
    ratios = []
    for i in range(repeat):
        pair = {}
        for name in (("plain", "run") if i % 2 == 0 else ("run", "plain")):
            started = time.perf_counter()
            (plain if name == "plain" else checkpointed)()
            pair[name] = time.perf_counter() - started
            times[name].append(pair[name])
        ratios.append(pair["run"] / pair["plain"])
    return {name: statistics.median(values) for name, values in times.items()}, ratios
