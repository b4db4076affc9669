"""Side by side: one prompt sent to several deployments (or variants of one), streamed in columns at once.

The columns run concurrently on the async client in a worker thread's loop (the
same runner as batch runs), so the wall time is that of the slowest column. The
caller's thread draws the live view and receives Ctrl-C, which stops every
stream and keeps what each column had received.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clients.orq import deployment_body, metrics_body
from ..errors import ValidationError
from ..render.diff import TextDiff
from ..result import InvokeResult
from .column_run import ColumnRun
from .variants import did_you_mean, plan
from .worker import run_in_worker

if TYPE_CHECKING:
    import pandas as pd

    from ..clients import AsyncOrqClient

FRAME_COLUMNS = ["label", "deployment", "model", "text", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens",
                 "finish_reason", "error", "id", "trace_id"]

# No winner is crowned inside the noise: two latencies within 10 % of the faster one or 50 ms (whichever is
# larger) tie, as do token counts within 5 % (equal counts always tie). A run-to-run jitter of a few ms
# used to hand "fastest" to a different column on every run.
LATENCY_TIE_RATIO, LATENCY_TIE_MS, TOKENS_TIE_RATIO = 0.10, 50.0, 0.05


def latency_tolerance(best_ms: float) -> float:
    """How close (ms) a latency must be to the fastest one to tie with it: max(10 %, 50 ms)."""
    return max(LATENCY_TIE_RATIO * best_ms, LATENCY_TIE_MS)


def tokens_tolerance(fewest: float) -> float:
    """How close a token count must be to the fewest to tie with it: 5 % of it."""
    return TOKENS_TIE_RATIO * fewest


def leaders(values: Mapping[str, float], tolerance: Any) -> list[str]:
    """The labels whose value is within ``tolerance(best)`` of the lowest, lowest first: one is a winner, more a tie."""
    if not values:
        return []
    best = min(values.values())
    margin = tolerance(best)
    return sorted((label for label, value in values.items() if value - best <= margin), key=values.__getitem__)


@dataclass
class Comparison:
    """The answers of a comparison, one per column, in column order.

    ``interrupted`` is True when Ctrl-C stopped the streams; every column then
    keeps what it had received.
    """

    results: dict[str, InvokeResult]
    interrupted: bool = False
    wall_ms: float | None = None

    @property
    def labels(self) -> list[str]:
        return list(self.results)

    def __getitem__(self, label: str) -> InvokeResult:
        return self.results[self._label(label)]

    def __len__(self) -> int:
        return len(self.results)

    def _label(self, label: str) -> str:
        if label not in self.results:
            raise ValidationError(f"no column {label!r}{did_you_mean(str(label), self.labels)} "
                                  f"(columns: {', '.join(self.labels)})", field="label")
        return label

    def to_frame(self) -> pd.DataFrame:
        """One row per column: label, deployment, ``model`` (``provider/model``), text, timings (ms, to 0.1 ms as in
        :func:`orqmagic.invoke_many`), tokens (nullable integers), finish reason, error, ids."""
        import pandas as pd

        from ..clients.accumulator import model_name

        rows = [{"label": label, "deployment": r.deployment, "model": model_name(r.provider, r.model), "text": r.text,
                 "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 1),
                 "ttft_ms": None if r.ttft_ms is None else round(r.ttft_ms, 1), "prompt_tokens": r.prompt_tokens,
                 "completion_tokens": r.completion_tokens, "finish_reason": r.finish_reason, "error": r.error,
                 "id": r.id, "trace_id": getattr(r, "trace_id", None)} for label, r in self.results.items()]
        return pd.DataFrame(rows, columns=FRAME_COLUMNS).astype(
            {"latency_ms": "float64", "ttft_ms": "float64", "prompt_tokens": "Int64", "completion_tokens": "Int64"})

    def diff(self, a: str | None = None, b: str | None = None) -> TextDiff:
        """Word-level diff of column ``a``'s answer into column ``b``'s (default: the first two columns)."""
        a = self._label(a) if a is not None else self.labels[0]
        b = self._label(b) if b is not None else next(label for label in self.labels if label != a)
        return TextDiff.of(self.results[a].text, self.results[b].text, a_label=a, b_label=b)

    def summary(self) -> dict[str, Any]:
        """The fastest column and the one with the fewest completion tokens, among those that completed.

        Only a clear lead wins: when others are within the tie tolerance (latency: max(10 %, 50 ms) of the
        fastest; tokens: 5 % of the fewest, equal counts included) ``fastest`` / ``fewest_tokens`` is
        ``None`` and ``fastest_tied`` / ``fewest_tokens_tied`` list the tied columns, lowest first.
        """
        done = {label: r for label, r in self.results.items() if r.complete and not r.error}
        timed = {label: r.latency_ms for label, r in done.items() if r.latency_ms is not None}
        tokens = {label: r.completion_tokens for label, r in done.items() if r.completion_tokens is not None}
        fast, few = leaders(timed, latency_tolerance), leaders(tokens, tokens_tolerance)
        return {"fastest": fast[0] if len(fast) == 1 else None, "fastest_ms": timed[fast[0]] if fast else None,
                "fastest_tied": fast if len(fast) > 1 else [],
                "fastest_tolerance_ms": latency_tolerance(timed[fast[0]]) if fast else None,
                "fewest_tokens": few[0] if len(few) == 1 else None, "tokens": tokens[few[0]] if few else None,
                "fewest_tokens_tied": few if len(few) > 1 else [],
                "latencies_ms": timed, "completion_tokens": tokens,
                "failed": [label for label, r in self.results.items() if r.error and not r.interrupted],
                "interrupted": [label for label, r in self.results.items() if r.interrupted]}

    def prefer(self, label: str, *, high: int = 100, low: int = 0, comment: str | None = None) -> dict[str, Any]:
        """Send feedback for every column: ``high`` for ``label``, ``low`` for the others.

        Goes through the outbox, so a transient failure keeps the scores for a
        later retry. Columns without a response id (failed before their first
        chunk) are skipped (``None`` in the returned receipts). Scores are
        checked before anything is sent. ``high`` (default 100) and ``low`` (default 0) are whole
        numbers 0–100; ``comment`` (default none) goes with every score as ``metadata.comment``.
        """
        label = self._label(label)
        metrics_body(score=high)
        metrics_body(score=low)
        receipts: dict[str, Any] = {}
        for name, result in self.results.items():
            if not result.id:
                receipts[name] = None
                continue
            metadata = {"comparison": self.labels, "column": name, "preferred": label}
            receipts[name] = result.feedback(high if name == label else low, comment=comment, metadata=metadata)
        return receipts

    def _repr_markdown_(self) -> str:
        from ..render.columns import final_markdown

        return final_markdown(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from ..render.columns import final_text

        printer.text(repr(self) if cycle else final_text(self))

    def __repr__(self) -> str:
        state = "interrupted" if self.interrupted else "complete"
        return f"Comparison({', '.join(self.labels)}; {state})"


def compare(
    keys: Sequence[str] | str,
    prompt: str | None = None,
    *,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    system: str | None = None,
    messages: list[dict] | None = None,
    stream: bool = True,
    display: bool | None = None,
    fmt: str = "markdown",
    throttle: float = 0.1,
    footer: bool = True,
    timeout: float | None = None,
    concurrency: int = 8,
    cache: bool = False,
    cache_max_mb: float | None = None,
    cache_max_age_days: float | None = None,
    orq: Any = None,
    **fields: Any,
) -> Comparison:
    """Send one prompt to several deployments (or variants of one) at once and show the answers side by side.

    ``keys`` are deployment keys; ``variants`` maps a label to request fields
    (``inputs``, ``system``, ``extra_params`` such as temperature,
    ``prefix_messages``, ...) that change per column, for every key. Dict fields
    merge with the shared ones. ``fields`` are request fields shared by all
    columns, as for :func:`orqmagic.invoke`. A column that fails shows its error
    and the others go on. Ctrl-C stops every stream and returns what arrived
    (``interrupted`` is then True). Bad input raises ValidationError before
    anything is sent. ``cache=True`` replays a column whose identical request
    has a complete answer in the response cache, as :func:`orqmagic.invoke` does.
    ``orq`` is an :class:`~orqmagic.AsyncOrqClient` to use instead of one from
    the configuration.

    ``prompt`` / ``system`` / ``messages``: the user turn, a system message, or a whole message list.
    ``stream`` (default True): live streams, else one ``/invoke`` call per column. ``display``
    (default: in a notebook or terminal, not in a script): draw the columns. ``fmt``: ``markdown``
    (default), ``text`` or ``json``. ``throttle`` (0.1 s): least time between redraws. ``footer``
    (True): a footer per column. ``timeout`` (seconds a stream may stay silent; default: the client's
    300). ``concurrency`` (8): columns sent at once. ``cache_max_mb`` / ``cache_max_age_days``: the
    response cache's limits (default 256 MB and 30 days).
    """
    from ..render.columns import columns_view

    if fmt not in ("markdown", "text", "json"):
        raise ValidationError(f"format must be markdown, text or json, got {fmt!r}", field="format")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError("concurrency must be a whole number >= 1", field="concurrency")
    columns = plan(keys, prompt, variants, {"system": system, "messages": messages, **fields})
    if orq is None:
        from ..clients import AsyncOrqClient
        from ..config import resolve

        config = resolve("orq")
        kwargs = {} if timeout is None else {"stream_timeout": timeout}

        def factory() -> AsyncOrqClient:
            return AsyncOrqClient(config=config, **kwargs)
    else:
        config = orq.config

        def factory() -> AsyncOrqClient:
            return orq

    if cache:
        from ..store.cache import response_cache

        store = response_cache(cache_max_mb, cache_max_age_days)
        for column in columns:
            column.cached = store.call(deployment_body(column.deployment, stream=stream, **column.request),
                                       base_url=config.base_url)

    view = columns_view(display=display, fmt=fmt, throttle=throttle, footer=footer)
    wake = threading.Event()
    run = ColumnRun(columns, stream=stream, concurrency=concurrency, client_factory=factory, wake=wake,
               owns_client=orq is None)
    started = time.perf_counter()
    view.start(columns)
    interrupted = run_in_worker(run.run(), name="orqmagic-compare", wake=wake, on_wake=lambda: view.update(columns))
    results = {}
    for column in columns:
        results[column.label] = column.result or InvokeResult.from_accumulator(
            column.acc, deployment=column.deployment, complete=False, interrupted=True,
            latency_ms=None, ttft_ms=None, streamed=stream, sandbox=run.sandbox)
    for column in columns:  # complete new answers go into the cache, from this thread (never partial ones)
        result = results[column.label]
        if column.kept and result.complete and not result.error and not result.interrupted and column.acc.final:
            column.cached.save(column.kept, latency_ms=result.latency_ms, ttft_ms=result.ttft_ms)
    comparison = Comparison(results, interrupted=interrupted, wall_ms=(time.perf_counter() - started) * 1000)
    view.finish(comparison)
    return comparison


__all__ = ["Comparison", "compare"]
