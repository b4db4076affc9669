"""4. Batch: 200 rows at 250 ms sandbox latency with concurrency 16, against the ideal and a sequential loop."""

from __future__ import annotations

import time

import pandas as pd

import orqmagic

from ._common import Figure, environment, sandbox_process

LATENCY = 0.25


def run(quick: bool) -> list[Figure]:
    rows, concurrency, sequential_rows = (96 if quick else 200), 16, (8 if quick else 24)
    frame = pd.DataFrame({"q": [f"question {i}" for i in range(rows)]})
    with sandbox_process("--latency-ms", str(LATENCY * 1000)) as (url, key), environment(ORQ_BASE_URL=url, ORQ_API_KEY=key):
        orqmagic.invoke_many("support-bot", frame.head(16), prompt="{{q}}", concurrency=concurrency, progress=False)  # warm up
        started = time.perf_counter()
        results = orqmagic.invoke_many("support-bot", frame, prompt="{{q}}", concurrency=concurrency, progress=False)
        wall = time.perf_counter() - started
        started = time.perf_counter()
        for q in frame["q"].head(sequential_rows):
            orqmagic.invoke("support-bot", q, display=False)
        per_row = (time.perf_counter() - started) / sequential_rows
    ideal = rows * LATENCY / concurrency
    return [
        Figure(f"batch: wall time, {rows} rows, concurrency {concurrency}", wall, "s", note=f"errors: {results['error'].notna().sum()}"),
        Figure("batch: wall / ideal (rows × 0.25 s / concurrency)", wall / ideal, "ratio", target=1.25),
        Figure("batch: speed-up over a sequential loop", per_row * rows / wall, "×",
               note=f"sequential measured on {sequential_rows} rows"),
    ]
