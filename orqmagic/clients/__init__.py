"""Typed clients for the three services, sync and async, over one transport layer."""

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
