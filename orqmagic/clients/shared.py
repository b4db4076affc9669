"""The shared client per service: one pooled connection per configuration, reused across calls.

It lives here, below the results, outbox and frames that use it, so none of
them has to import :mod:`orqmagic.api` (data flows one way).
"""

from __future__ import annotations

import threading
from typing import Any

from ..config import resolve

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def client(service: str, *, timeout: float | None = None, stream_timeout: float | None = None, retry: Any = None) -> Any:
    """A shared client for ``service`` as configured right now (keys, base URL, sandbox).

    Clients are kept per configuration, so switching to the sandbox or setting
    a key takes effect on the next call without reconnecting every time.
    """
    from . import BasetenClient, GalteaClient, OrqClient

    config = resolve(service)
    kwargs = {k: v for k, v in (("timeout", timeout), ("stream_timeout", stream_timeout), ("retry", retry)) if v is not None}
    cache_key = (service, config, tuple(sorted(kwargs.items(), key=lambda kv: kv[0])))
    with _clients_lock:
        if cache_key not in _clients:
            cls = {"orq": OrqClient, "baseten": BasetenClient, "galtea": GalteaClient}[service]
            _clients[cache_key] = cls(config=config, **kwargs)
        return _clients[cache_key]


def clear() -> None:
    """Forget every shared client (tests; a changed environment)."""
    with _clients_lock:
        _clients.clear()
