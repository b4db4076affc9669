"""7. Compare: 4 deployments at 1 s sandbox latency against the slowest single call; display bytes of 4 columns."""

from __future__ import annotations

import json
import statistics
import time

import nbformat

import orqmagic

from ._common import Figure, environment, sandbox_process
from .display import Recorder, faults_cell

KEYS = ["support-bot", "summarizer", "code-helper", "reasoner"]
LATENCY = 1.0
QUESTION = "How do I rotate my API key and keep old integrations working?"


def _wall(quick: bool) -> list[Figure]:
    repeats = 2 if quick else 3
    with sandbox_process("--latency-ms", str(LATENCY * 1000)) as (url, key), environment(ORQ_BASE_URL=url, ORQ_API_KEY=key):
        orqmagic.compare(KEYS[:2], "warm up", display=False)
        singles, walls = [], []
        for _ in range(repeats):  # interleaved, so drifts in load hit both alike
            slowest = 0.0
            for deployment in KEYS:
                started = time.perf_counter()
                orqmagic.invoke(deployment, QUESTION, display=False)
                slowest = max(slowest, time.perf_counter() - started)
            singles.append(slowest)
            started = time.perf_counter()
            comparison = orqmagic.compare(KEYS, QUESTION, display=False)
            walls.append(time.perf_counter() - started)
            assert not comparison.summary()["failed"], comparison.summary()
    single, wall = statistics.median(singles), statistics.median(walls)
    return [
        Figure("compare: slowest single call of 4 (1 s latency)", single, "s"),
        Figure("compare: wall time of the 4-column comparison", wall, "s", note=f"median of {repeats}"),
        Figure("compare: wall / slowest single call", wall / single, "ratio", target=1.2),
    ]


def words(n: int, offset: int) -> str:
    return "".join(f"w{i:08d} " for i in range(offset, offset + n)).rstrip()


def _display(quick: bool) -> list[Figure]:
    per_column = 1250 if quick else 2500
    answers = [words(per_column, i * 10 ** 7) for i in range(4)]
    variants = {f"v{i}": {"mock_response": answer} for i, answer in enumerate(answers)}
    with sandbox_process() as (url, key):
        cells = ["%load_ext orqmagic", faults_cell(""), f"variants = {variants!r}",
                 "%%invoke support-bot --variants variants -o cmp\nhi"]
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        with environment(ORQ_BASE_URL=url, ORQ_API_KEY=key):
            recorder = Recorder(notebook, timeout=600, kernel_name="python3")
            recorder.execute()
    messages = [m for m in recorder.by_cell[3] if m["msg_type"] in ("display_data", "update_display_data")]
    sent = sum(len(json.dumps(m["content"]["data"])) for m in messages)
    total = sum(len(a) for a in answers)
    return [Figure(f"compare: display bytes / answers' size, 4 columns × {per_column} chunks unlimited", sent / total,
                   "ratio", target=3.0, note=f"{len(messages)} display messages")]


def run(quick: bool) -> list[Figure]:
    return _wall(quick) + _display(quick)
