"""``Refresher``: when a panel fetches: now, after a pause in the user's clicks, or every N seconds, never piled up.

A fetch runs in a background thread so the notebook stays responsive; a refresh
asked for while one runs is coalesced into one more run afterwards, so ten clicks
cost at most two fetches. A control change asks for a refresh after a short pause
(``later``): each further change restarts the pause.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Refresher:
    """Runs ``fetch`` in a background thread on request, coalescing requests that arrive while it runs."""

    def __init__(self, fetch: Callable[[], None], *, name: str = "orqmagic-refresh") -> None:
        self._fetch = fetch
        self._name = name
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._done = threading.Event()
        self._done.set()
        self._debounce: threading.Timer | None = None
        self._timer: threading.Timer | None = None
        self._every = 0.0

    def now(self, wait: bool = False) -> None:
        """Fetch now (or once more after the running fetch, which reads older controls)."""
        if self._debounce is not None and self._debounce is not threading.current_thread():
            self._debounce.cancel()  # this fetch reads the controls as they are now
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
            self._done.clear()
        threading.Thread(target=self._run, name=self._name, daemon=True).start()
        if wait:
            self.wait()

    def later(self, seconds: float) -> None:
        """Fetch after ``seconds`` without another call to ``later`` (a pause in the user's changes)."""
        if self._debounce is not None:
            self._debounce.cancel()
        self._debounce = threading.Timer(seconds, self.now)
        self._debounce.daemon = True
        self._debounce.start()

    def every(self, seconds: float) -> None:
        """Fetch every ``seconds`` (0: stop)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._every = seconds
        if seconds:
            self._timer = threading.Timer(seconds, self._tick)
            self._timer.daemon = True
            self._timer.start()

    def _tick(self) -> None:
        self.now()
        self.every(self._every)

    def wait(self, timeout: float | None = 60) -> bool:
        """Block until no fetch is due or running (for scripts and tests)."""
        debounce = self._debounce
        if debounce is not None and debounce.is_alive():
            debounce.join(timeout)
        return self._done.wait(timeout)

    def _run(self) -> None:
        while True:
            self._fetch()
            with self._lock:
                if not self._again:
                    self._running = False
                    self._done.set()
                    return
                self._again = False

    def close(self) -> None:
        for timer in (self._timer, self._debounce):
            if timer is not None:
                timer.cancel()
