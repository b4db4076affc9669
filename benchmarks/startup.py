"""5. Start-up: what %load_ext orqmagic adds to a bare IPython start."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from ._common import Figure


def _time(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", code], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(quick: bool) -> list[Figure]:
    repeat = 5 if quick else 15
    bare, loaded = [], []
    for _ in range(repeat):
        bare.append(_time("pass"))
        loaded.append(_time("%load_ext orqmagic"))
    added = (statistics.median(loaded) - statistics.median(bare)) * 1000
    return [
        Figure("start-up: bare IPython", statistics.median(bare) * 1000, "ms"),
        Figure("start-up: added by %load_ext orqmagic", added, "ms", target=150.0),
    ]
