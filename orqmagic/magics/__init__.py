"""IPython magics: ``%%invoke``, ``%orq``, ``%%metric`` and ``%baseten_metrics``.

Owns argument parsing (:mod:`.parse`, :mod:`.cell`), the ``%orq`` session commands
(:mod:`.session`) and the services' magics (:mod:`.services`). A magic parses its line, turns bad
input into one ``UsageError`` line and delegates to the Python API; it holds no logic of its own.

May import: everything below it (api, evaluation, widgets, frames, render, store, clients, config).
Loading the extension imports only this package's parser; the rest is imported on first use.
"""

from __future__ import annotations

import threading
from typing import Any

from .core import OrqMagic


def load(ipython: Any) -> None:
    magics = OrqMagic(shell=ipython)
    ipython.register_magics(magics)
    # The client stack (httpx, stamina, the store) is imported in the background, so %load_ext returns at once
    # and the first %%invoke finds it ready; a cell run before it is done just waits on Python's import lock.
    threading.Thread(target=_warm_up, name="orqmagic-warm-up", daemon=True).start()


def _warm_up() -> None:
    from .. import api  # noqa: F401


def unload(ipython: Any) -> None:
    manager = ipython.magics_manager
    for kind, names in (("cell", ("invoke", "metric")), ("line", ("orq", "baseten_metrics"))):
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop("OrqMagic", None)
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, OrqMagic)]


__all__ = ["OrqMagic", "load", "unload"]
