"""orqmagic: call orq.ai deployments, watch Baseten metrics and define Galtea metrics from a notebook.

``import orqmagic`` stays light: pandas, matplotlib, ipywidgets and the sandbox
server are imported only when something that needs them is used.
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import Secret, set_key, use_remote, use_sandbox
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    JudgeAnswerError,
    MalformedChunkError,
    NotFoundError,
    OrqMagicError,
    RateLimitError,
    RequestTimeout,
    RunBusyError,
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
    "invoke_many": "orqmagic.evaluation.batch",
    "compare": "orqmagic.evaluation.comparison",
    "Comparison": "orqmagic.evaluation.comparison",
    "summarize": "orqmagic.evaluation.batch",
    "send_scores": "orqmagic.evaluation.batch",
    "plot_batch": "orqmagic.frames",
    "Outbox": "orqmagic.store.outbox",
    "runs": "orqmagic.store.runs",
    "load_run": "orqmagic.store.runs",
    "judge": "orqmagic.evaluation.judging",
    "Metric": "orqmagic.evaluation.metric",
    "pairwise": "orqmagic.evaluation.pairwise",
    "last_result": "orqmagic.api",
    "review": "orqmagic.widgets.review",
    "ReviewQueue": "orqmagic.widgets.review",
    "load_review": "orqmagic.evaluation.review",
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
    "JudgeAnswerError",
    "MalformedChunkError",
    "Metric",
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
    "RunBusyError",
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
    "judge",
    "last_result",
    "list_metrics",
    "load_ipython_extension",
    "load_review",
    "load_run",
    "pairwise",
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


# Modules that moved into packages (issue 18) keep their old import paths: ``import orqmagic.batch``
# gives the very module ``orqmagic.evaluation.batch`` (one module object, so patches and isinstance agree).
_MOVED = {
    "orqmagic.outbox": "orqmagic.store.outbox",
    "orqmagic.outbox_claims": "orqmagic.store.claims",
    "orqmagic.outbox_import": "orqmagic.store.legacy",
    "orqmagic.outbox_reports": "orqmagic.store.receipts",
    "orqmagic.cache": "orqmagic.store.cache",
    "orqmagic.run_store": "orqmagic.store.runs",
    "orqmagic.aio": "orqmagic.evaluation.worker",
    "orqmagic.concurrent": "orqmagic.evaluation.rows",
    "orqmagic.batch": "orqmagic.evaluation.batch",
    "orqmagic.comparison": "orqmagic.evaluation.comparison",
    "orqmagic.variants": "orqmagic.evaluation.variants",
    "orqmagic.progress": "orqmagic.evaluation.progress",
    "orqmagic.stats": "orqmagic.evaluation.stats",
    "orqmagic.templates": "orqmagic.evaluation.templates",
}


class _MovedModules:
    """Answers an old module path with the module that now lives at its new one.

    A finder and loader by protocol (``find_spec``, ``create_module``, ``exec_module``), not by
    subclassing ``importlib.abc``, which would import ``importlib.resources`` and its friends.
    """

    def __init__(self) -> None:
        self.real_specs: dict[str, ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        return ModuleSpec(fullname, self) if fullname in _MOVED else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = import_module(_MOVED[spec.name])
        self.real_specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.real_specs[module.__name__]  # the import system stamped the alias's spec on it


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())


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
    """``%load_ext orqmagic``: register ``%%invoke``, ``%orq`` and friends in ``ipython`` (the running shell)."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext orqmagic``: remove the magics from ``ipython`` (the running shell)."""
    from .magics import unload

    unload(ipython)


if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .api import add_metrics, create_metric, invoke, last_result, list_metrics
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
    from .evaluation.comparison import Comparison, compare
    from .evaluation.judging import judge
    from .evaluation.metric import Metric
    from .evaluation.pairwise import pairwise
    from .result import InvokeResult
    from .sandbox import Sandbox
