"""IPython magics: ``%%invoke``, ``%orq``, ``%%metric`` and ``%baseten_metrics``."""

from __future__ import annotations

from typing import Any

from .core import OrqMagic


def load(ipython: Any) -> None:
    magics = OrqMagic(shell=ipython)
    ipython.register_magics(magics)


def unload(ipython: Any) -> None:
    manager = ipython.magics_manager
    for kind, names in (("cell", ("invoke", "metric")), ("line", ("orq", "baseten_metrics"))):
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop("OrqMagic", None)
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, OrqMagic)]


__all__ = ["OrqMagic", "load", "unload"]
