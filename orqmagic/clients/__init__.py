"""Talking to the three services: typed clients, sync and async, over one transport layer.

Owns the transport (:mod:`._transport`: auth, timeouts, typed errors), its pieces (:mod:`.retry`
for the retry policy and Retry-After, :mod:`.redaction` keeping secrets out of every message,
:mod:`.payload` for JSON-ready bodies and safe ids, :mod:`.sse` the silence clock), the orq,
Baseten and Galtea clients, the stream accumulator and :mod:`.shared` (one client per service).

May import: :mod:`orqmagic.errors` and :mod:`orqmagic.config` only. Nothing here knows about
the store, results or display.
"""

from .accumulator import StreamAccumulator
from .baseten import AsyncBasetenClient, BasetenClient
from .galtea import AsyncGalteaClient, GalteaClient
from .orq import AsyncOrqClient, OrqClient
from .retry import NO_RETRY, RetryPolicy

__all__ = [
    "NO_RETRY",
    "AsyncBasetenClient",
    "AsyncGalteaClient",
    "AsyncOrqClient",
    "BasetenClient",
    "GalteaClient",
    "OrqClient",
    "RetryPolicy",
    "StreamAccumulator",
]
