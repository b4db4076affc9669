"""6. Evaluation runs: the cost of checkpointing a named run, and replaying a cached stream.

(a) 1,000 rows at unlimited rate and no added latency (the worst case for the
checkpoint's share: every row's own cost is as small as it gets), concurrency
16, with ``run=`` (every row recorded in the store as it finishes) against the
same batch without it; interleaved repeats, medians.
(b) A 5,000-chunk answer: ``invoke(..., cache=True)`` replayed from the store
against the same call streamed live from the sandbox at unlimited rate.
"""

from __future__ import annotations

import tempfile

import pandas as pd

import orqmagic

from ._common import Figure, environment, interleaved, sandbox_process

CHUNKS = 5000


def run(quick: bool) -> list[Figure]:
    rows, repeat, stream_repeat = (300, 3, 5) if quick else (1000, 5, 15)
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
        batch = interleaved({"plain": plain, "run": checkpointed}, repeat)

        def live() -> None:
            orqmagic.invoke("support-bot", display=False, mock_response=text)

        def replay() -> None:
            assert orqmagic.invoke("support-bot", display=False, mock_response=text, cache=True).cached

        orqmagic.invoke("support-bot", display=False, mock_response=text, cache=True)  # fill the cache
        live()
        stream = interleaved({"live": live, "replay": replay}, stream_repeat)
    overhead = (batch["run"] / batch["plain"] - 1) * 100
    return [
        Figure(f"evaluation: batch of {rows} rows, no run", batch["plain"], "s"),
        Figure("evaluation: same batch with run= (each row recorded)", batch["run"], "s"),
        Figure("evaluation: checkpoint overhead", overhead, "%", target=5),
        Figure(f"evaluation: {CHUNKS:,}-chunk stream, live at unlimited rate", stream["live"] * 1000, "ms"),
        Figure(f"evaluation: {CHUNKS:,}-chunk stream, replayed from the cache", stream["replay"] * 1000, "ms"),
        Figure("evaluation: replay / live", stream["replay"] / stream["live"], "ratio", target=1.0),
    ]
