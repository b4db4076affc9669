"""The progress of a batch, drawn by tqdm (a widget in a notebook, a status line in a terminal).

Kept apart from :mod:`orqmagic.evaluation.batch` so the row sender in :mod:`orqmagic.evaluation.rows`
can count rows without importing the batch runner above it.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """Counts of a batch shown by tqdm: ``tqdm.auto`` draws a widget in a notebook, a status line in a terminal.

    The bar shows the deployment, done/total, rate and ETA from the start, then
    failed, resumed (rows loaded from a stored run) and cached (answers replayed
    from the cache) counts; ``counts`` holds any further named counts. With
    ``mode=None`` it only counts. A terminal also gets a one-line summary at the end.
    """

    def __init__(self, total: int, mode: str | None, *, deployment: str = "invoke_many", resumed: int = 0) -> None:
        self.total, self.done, self.failed = total, resumed, 0
        self.resumed, self.cached = resumed, 0
        self.counts: dict[str, int] = {}  # further counts by name, shown after the others
        self.started = time.perf_counter()
        self._mode = mode
        self._bar: Any = None
        if mode is not None:
            if mode == "widget":
                from tqdm.auto import tqdm
            else:
                from tqdm import tqdm
            self._bar = tqdm(total=total, initial=resumed, desc=deployment, unit="row", file=sys.stderr,
                             mininterval=0.1, dynamic_ncols=True, smoothing=0.2, leave=True)
            self._bar.set_postfix_str(self._postfix(), refresh=True)

    @property
    def sent(self) -> int:
        return self.done - self.resumed - self.cached

    def _postfix(self) -> str:
        shown = {"failed": self.failed, "resumed": self.resumed, "cached": self.cached, **self.counts}
        return ", ".join(f"{value} {name}" for name, value in shown.items() if value or name == "failed")

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        apart = "".join(f" · {n} {what}" for n, what in ((self.resumed, "resumed"), (self.cached, "cached")) if n)
        extra = "".join(f" · {value} {name}" for name, value in self.counts.items())
        return (f"{self.done}/{self.total} done{apart} · {self.sent} sent · {self.failed} failed{extra}"
                f" · {(self.done - self.resumed) / elapsed:.1f} rows/s")

    def update(self, failed: bool = False, cached: bool = False, n: int = 1, **counts: int) -> None:
        """``n`` more rows done (failed or answered from the cache), plus named counts, e.g. ``retried=1``."""
        self.done += n
        self.failed += n if failed else 0
        self.cached += n if cached else 0
        for name, value in counts.items():
            self.counts[name] = self.counts.get(name, 0) + value
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.update(n)

    def close(self, interrupted: bool, note: str = "") -> None:
        if self._bar is None:
            return
        suffix = (", interrupted" if interrupted else "") + note.replace(" · ", ", ")
        self._bar.set_postfix_str(self._postfix() + suffix, refresh=True)
        if interrupted or self.failed:
            self._bar.colour = "#f57c00"  # the warning colour of JupyterLab's themes
        self._bar.close()
        if self._mode == "text":
            sys.stderr.write(self.line() + (" (interrupted)" if interrupted else "") + note + "\n")
            sys.stderr.flush()


def progress_mode(progress: bool | None) -> str | None:
    """How to show progress: a tqdm widget in a kernel, a text line in a terminal (or when asked), else nothing."""
    if progress is False:
        return None
    from ..render.live import shell_kind

    kind = shell_kind()
    if kind == "kernel":
        return "widget"
    return "text" if progress or kind == "terminal" else None
