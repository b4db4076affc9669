"""Running asyncio work from blocking code: a private event loop in a worker thread.

Batch runs and comparisons use httpx's async client for many calls at once. A
Jupyter kernel already runs a loop in the main thread, so the work gets its own
loop in a worker thread, and the caller's thread stays free for what must happen
there: receiving Ctrl-C (Python delivers it to the main thread only) and sending
display updates (so they land in the output of the cell that started the run).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

TICK = 0.05


def run_in_worker(
    main: Coroutine[Any, Any, Any],
    *,
    name: str = "orqmagic-worker",
    wake: threading.Event | None = None,
    on_wake: Callable[[], float] | None = None,
) -> bool:
    """Run ``main`` to its end on a worker thread's loop; return True if Ctrl-C interrupted it.

    On Ctrl-C the task is cancelled (its ``finally`` blocks close what they
    opened) and the worker's end is awaited before returning, so nothing
    finishes after we return. The end is signalled by an Event, not
    ``Thread.join``: a KeyboardInterrupt landing inside ``join`` can leave the
    thread marked stopped while it still runs (CPython gh-90882).

    With ``on_wake``, the caller's thread calls it whenever ``wake`` is set (the
    worker sets it when there is something new to show); ``on_wake`` returns how
    many seconds to wait before it may be called again, which keeps the caller
    from spinning at the rate chunks arrive.
    """
    loop = asyncio.new_event_loop()
    task = loop.create_task(main)
    finished = threading.Event()
    wake = wake or threading.Event()

    def target() -> None:
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            finished.set()
            wake.set()

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    try:
        while not finished.is_set():
            if on_wake is None:
                finished.wait(TICK)
            elif wake.wait(4 * TICK):  # a timeout only re-checks that the worker is still running
                wake.clear()
                if finished.is_set():
                    break
                pause = on_wake()
                if pause > 0:
                    finished.wait(pause)
    except KeyboardInterrupt:
        with contextlib.suppress(RuntimeError):  # the loop may have closed just now
            loop.call_soon_threadsafe(task.cancel)
        finished.wait()
        return True
    return False


__all__ = ["run_in_worker"]
