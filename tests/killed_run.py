"""A child process SIGKILLed mid-run: the shared step of the resume tests (runs, judging).

The child runs ``script`` against its own sandbox and records rows of the run
``run`` in the store the test shares with it; once it has recorded ``at_least``
rows (the event, read from the store, not a moment on a clock) it is killed
with SIGKILL, so nothing of it is cleaned up. The test then resumes the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from orqmagic.store import Store


def kill_when_recorded(script: str, path: Path, store: Store, run: str, *, at_least: int = 4) -> None:
    """Run ``script`` (dedented, written to ``path``) in a child; SIGKILL it once ``run`` holds ``at_least`` rows."""
    path.write_text(textwrap.dedent(script))
    child = subprocess.Popen([sys.executable, str(path)], env=dict(os.environ), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            recorded = store.connection().execute("SELECT COUNT(*) FROM run_rows WHERE run = ?", (run,)).fetchone()[0]
            if recorded >= at_least or child.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert child.poll() is None, child.communicate()  # still running when the rows were there
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
