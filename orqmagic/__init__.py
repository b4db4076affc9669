"""orqmagic: call orq.ai deployments, watch Baseten metrics and define Galtea metrics from a notebook.

``import orqmagic`` stays light: pandas, matplotlib, ipywidgets and the sandbox
server are imported only when something that needs them is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import Secret, set_key, use_remote, use_sandbox
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    MalformedChunkError,
    NotFoundError,
    OrqMagicError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    StreamInterrupted,
    StreamTimeout,
    TransportError,
    ValidationError,
)

_LAZY = {
    "OrqClient": "orqmagic.clients",
    "AsyncOrqClient": "orqmagic.clients",
    "BasetenClient": "orqmagic.clients",
    "AsyncBasetenClient": "orqmagic.clients",
    "GalteaClient": "orqmagic.clients",
    "AsyncGalteaClient": "orqmagic.clients",
    "RetryPolicy": "orqmagic.clients",
    "StreamAccumulator": "orqmagic.clients.accumulator",
    "Sandbox": "orqmagic.sandbox",
    "InvokeResult": "orqmagic.result",
    "invoke": "orqmagic.api",
    "add_metrics": "orqmagic.api",
    "create_metric": "orqmagic.api",
    "list_metrics": "orqmagic.api",
    "fetch_metrics": "orqmagic.frames",
    "wide_metrics": "orqmagic.frames",
    "plot_metrics": "orqmagic.frames",
    "MetricsPanel": "orqmagic.widgets",
    "FeedbackPanel": "orqmagic.widgets",
    "MetricForm": "orqmagic.widgets",
    "invoke_many": "orqmagic.batch",
    "compare": "orqmagic.comparison",
    "Comparison": "orqmagic.comparison",
    "summarize": "orqmagic.batch",
    "send_scores": "orqmagic.batch",
    "plot_batch": "orqmagic.frames",
    "Outbox": "orqmagic.outbox",
    "runs": "orqmagic.run_store",
    "load_run": "orqmagic.run_store",
    "review": "orqmagic.widgets.review",
    "ReviewQueue": "orqmagic.widgets.review",
    "load_review": "orqmagic.review_queue",
}

__all__ = [
    "APIError",
    "AsyncBasetenClient",
    "AsyncGalteaClient",
    "AsyncOrqClient",
    "AuthenticationError",
    "BadRequestError",
    "BasetenClient",
    "Comparison",
    "ConfigurationError",
    "FeedbackPanel",
    "GalteaClient",
    "InvokeResult",
    "MalformedChunkError",
    "MetricForm",
    "MetricsPanel",
    "NotFoundError",
    "OrqClient",
    "OrqMagicError",
    "Outbox",
    "RateLimitError",
    "RequestTimeout",
    "RetryPolicy",
    "ReviewQueue",
    "Sandbox",
    "Secret",
    "ServerError",
    "StreamAccumulator",
    "StreamInterrupted",
    "StreamTimeout",
    "TransportError",
    "ValidationError",
    "__version__",
    "add_metrics",
    "compare",
    "create_metric",
    "fetch_metrics",
    "invoke",
    "invoke_many",
    "list_metrics",
    "load_ipython_extension",
    "load_review",
    "load_run",
    "plot_batch",
    "plot_metrics",
    "review",
    "runs",
    "send_scores",
    "set_key",
    "summarize",
    "unload_ipython_extension",
    "use_remote",
    "use_sandbox",
    "wide_metrics",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'orqmagic' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext orqmagic``: register ``%%invoke``, ``%orq`` and friends."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload

    unload(ipython)


if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .api import add_metrics, create_metric, invoke, list_metrics
    from .clients import (
        AsyncBasetenClient,
        AsyncGalteaClient,
        AsyncOrqClient,
        BasetenClient,
        GalteaClient,
        OrqClient,
        RetryPolicy,
    )
    from .clients.accumulator import StreamAccumulator
    from .comparison import Comparison, compare
    from .result import InvokeResult
    from .sandbox import Sandbox
