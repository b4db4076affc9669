"""The progress of a batch, drawn by tqdm (a widget in a notebook, a status line in a terminal).

Kept apart from :mod:`orqmagic.evaluation.batch` so the row sender in :mod:`orqmagic.evaluation.rows`
can count rows without importing the batch runner above it.

What the bar claims, it knows:

- every finished row redraws it (``update`` is the event; tqdm's own throttling used to leave
  "1/90" on screen after many rows had finished and never caught up). Rows that finish within
  ``MIN_REDRAW`` (20 ms) of the last draw, a burst of cached rows say, are drawn together by the
  clock thread that long after: at most 50 draws a second (a widget draw costs ~0.3 ms), and no
  finished row stays off screen for longer than that;
- the clock thread also redraws every ``tick_seconds`` while rows are in flight, so the elapsed
  time ticks even when no row finishes;
- the ETA is the remaining rows over the average rate since the start (tqdm ``smoothing=0``),
  which settles instead of swinging with each burst of concurrent rows;
- the bar keeps one width (no ``dynamic_ncols`` flex that squeezed it as the text grew);
- when the batch ends the widget is replaced by one static line, ``support-bot: 90/90 done in 1:05``,
  as ``text/html`` and ``text/plain``: what a saved notebook, nbconvert or GitHub shows, instead
  of the widget's "0%| | 0/90" fallback or "model not found".
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

TICK_SECONDS = 1.0
MIN_REDRAW = 0.02  # seconds: draws closer than this are merged (50 a second is faster than anyone reads)
BAR_WIDTH = "300px"


def clock_text(seconds: float) -> str:
    """``0:07``, ``1:05``, ``1:02:03``: elapsed time as a clock."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts of a batch shown by tqdm: ``tqdm.auto`` draws a widget in a notebook, a status line in a terminal.

    The bar shows the deployment, done/total, elapsed time, rate and ETA from the start, then
    failed, resumed (rows loaded from a stored run) and cached (answers replayed from the cache)
    counts; ``counts`` holds any further named counts. With ``mode=None`` it only counts. When
    closed, a notebook keeps one static line in the bar's place and a terminal gets it printed.

    ``clock`` (seconds, monotonic) and ``tick_seconds`` (``None``: no clock thread) are for tests,
    which drive the bar by events: :meth:`update` for a finished row, :meth:`tick` for the clock.
    """

    def __init__(self, total: int, mode: str | None, *, deployment: str = "invoke_many", resumed: int = 0,
                 clock: Callable[[], float] = time.perf_counter, tick_seconds: float | None = TICK_SECONDS,
                 file: IO[str] | None = None) -> None:
        self.total, self.done, self.failed = total, resumed, 0
        self.resumed, self.cached = resumed, 0
        self.counts: dict[str, int] = {}  # further counts by name, shown after the others
        self.deployment = deployment
        self._clock = clock
        self.started = clock()
        self.ended: float | None = None
        self.final_line: str | None = None  # the static line left when closed
        self._mode = mode
        self._file = file or sys.stderr
        self._bar: Any = None
        self._handle: Any = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._pending = threading.Event()  # a finished row not drawn yet: the clock thread draws it soon
        self._drawn_at = -float("inf")
        if mode is None:
            return
        self._bar = self._make_bar(mode)
        self._bar.set_postfix_str(self._postfix(), refresh=True)
        if tick_seconds:
            context = contextvars.copy_context()  # a terminal line or widget belongs to the caller's cell
            threading.Thread(target=context.run, args=(self._tick_every, tick_seconds), name="orqmagic-progress",
                             daemon=True).start()

    def _make_bar(self, mode: str) -> Any:
        options = {"total": self.total, "initial": self.resumed, "desc": self.deployment, "unit": "row",
                   "mininterval": 0, "miniters": 1, "smoothing": 0, "leave": True}
        if mode == "widget":
            from tqdm.auto import tqdm
            from tqdm.notebook import tqdm as notebook_tqdm

            if issubclass(tqdm, notebook_tqdm):
                bar = tqdm(**options, display=False)
                _, progress, _ = bar.container.children
                progress.layout.width, progress.layout.flex = BAR_WIDTH, "0 0 auto"  # one width, whatever the text
                from IPython.display import display

                self._handle = display(bar.container, display_id=True)
            else:  # no ipywidgets: tqdm.auto falls back to text
                bar = tqdm(**options, file=self._file)
        else:
            from tqdm import tqdm

            bar = tqdm(**options, file=self._file, ncols=100)
        bar._time = self._clock  # tqdm reads the time through this attribute: one clock for bar and line
        bar.start_t = bar.last_print_t = self.started
        return bar

    @property
    def sent(self) -> int:
        return self.done - self.resumed - self.cached

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else self._clock()) - self.started

    def _postfix(self) -> str:
        shown = {"failed": self.failed, "resumed": self.resumed, "cached": self.cached, **self.counts}
        return ", ".join(f"{value} {name}" for name, value in shown.items() if value or name == "failed")

    def line(self) -> str:
        elapsed = max(self.elapsed, 1e-9)
        apart = "".join(f" · {n} {what}" for n, what in ((self.resumed, "resumed"), (self.cached, "cached")) if n)
        extra = "".join(f" · {value} {name}" for name, value in self.counts.items())
        return (f"{self.done}/{self.total} done{apart} · {self.sent} sent · {self.failed} failed{extra}"
                f" · {(self.done - self.resumed) / elapsed:.1f} rows/s")

    def update(self, failed: bool = False, cached: bool = False, n: int = 1, **counts: int) -> None:
        """``n`` more rows done (failed or answered from the cache), plus named counts, e.g. ``retried=1``.

        Redraws the bar at once: a finished row is always on screen.
        """
        with self._lock:
            self.done += n
            self.failed += n if failed else 0
            self.cached += n if cached else 0
            for name, value in counts.items():
                self.counts[name] = self.counts.get(name, 0) + value
            if self._bar is None or self._stopped.is_set():
                return
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            now = self._clock()
            if now - self._drawn_at < MIN_REDRAW:  # a burst: counted now, drawn with the next draw
                self._bar.n += n
                self._pending.set()
                return
            self._drawn_at = now
            self._bar.update(n)  # mininterval=0, miniters=1: tqdm draws on every update it gets

    def tick(self) -> None:
        """Redraw with the current elapsed time and ETA (the clock thread calls this every second)."""
        with self._lock:
            self._pending.clear()
            if self._bar is not None and not self._stopped.is_set():
                self._drawn_at = self._clock()
                self._bar.refresh()

    def _tick_every(self, seconds: float) -> None:
        while not self._stopped.is_set():
            if self._pending.wait(seconds):  # rows finished in a burst: draw them once it has passed
                self._stopped.wait(MIN_REDRAW)
            if self._stopped.is_set():
                return
            try:
                self.tick()
            except Exception:  # a display that went away must not kill the batch
                return

    def summary_line(self, interrupted: bool = False, note: str = "") -> str:
        """``support-bot: 90/90 done in 1:05 · 2 failed · 10 cached``: what is left when the batch ends."""
        parts = [f"{self.deployment}: {self.done}/{self.total} done in {clock_text(self.elapsed)}"]
        parts += [f"{value} {name}" for name, value in (("failed", self.failed), ("resumed", self.resumed),
                                                         ("cached", self.cached), *self.counts.items()) if value]
        if interrupted:
            parts.append("interrupted")
        return " · ".join(parts) + note

    def close(self, interrupted: bool, note: str = "") -> None:
        """Stop the clock and leave a truthful static line: the widget is replaced, a terminal gets it printed."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
            self.ended = self._clock()
        self.final_line = self.summary_line(interrupted, note)
        if self._bar is None:
            return
        if self._handle is not None:
            from ..render.theme import status_html

            kind = "warn" if interrupted or self.failed else "ok"
            self._bar.close()
            self._handle.update({"text/plain": self.final_line, "text/html": status_html(kind, self.final_line)},
                                raw=True)
            self._bar.container.close()  # the widget is gone from the output: drop its model too
            return
        suffix = (", interrupted" if interrupted else "") + note.replace(" · ", ", ")
        self._bar.set_postfix_str(self._postfix() + suffix, refresh=True)
        self._bar.close()
        if self._mode == "text":  # the bar's last state stays above: here the counts in words
            self._file.write(self.line() + (" (interrupted)" if interrupted else "") + note + "\n")
            self._file.flush()


def progress_mode(progress: bool | None) -> str | None:
    """How to show progress: a tqdm widget in a kernel, a text line in a terminal (or when asked), else nothing."""
    if progress is False:
        return None
    from ..render.live import shell_kind

    kind = shell_kind()
    if kind == "kernel":
        return "widget"
    return "text" if progress or kind == "terminal" else None
