"""``InvokeResult``: one deployment answer, with its timings, usage and id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clients.accumulator import StreamAccumulator


@dataclass
class InvokeResult:
    """What ``%%invoke`` and :func:`orqmagic.invoke` return.

    ``trace_id``/``span_id`` come from orq's ``telemetry``: they link this answer
    to its trace in orq, and feedback sent for it carries the trace id in its metadata.
    ``complete`` is False when the stream broke or was interrupted; ``text`` then
    holds everything that arrived, and ``error`` says why it stopped. ``cached``
    is True when the answer was replayed from the response cache; its timings
    are then those of the original call.
    """

    text: str
    deployment: str
    id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    model: str | None = None
    provider: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    latency_ms: float | None = None
    ttft_ms: float | None = None
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""
    retrievals: list[dict[str, Any]] | None = None
    images: list[str] = field(default_factory=list)
    complete: bool = True
    interrupted: bool = False
    error: str | None = None
    chunks: int = 0
    streamed: bool = True
    sandbox: bool = False
    cached: bool = False  # replayed from the response cache (cache=True), not fetched now
    cached_at: float | None = None  # when the cached answer was first received (epoch seconds)

    @classmethod
    def from_accumulator(
        cls,
        acc: StreamAccumulator,
        *,
        deployment: str,
        latency_ms: float | None,
        ttft_ms: float | None,
        complete: bool,
        interrupted: bool = False,
        error: str | None = None,
        streamed: bool = True,
        sandbox: bool = False,
    ) -> InvokeResult:
        return cls(
            text=acc.text,
            deployment=deployment,
            id=acc.id,
            trace_id=acc.trace_id,
            span_id=acc.span_id,
            model=acc.model,
            provider=acc.provider,
            usage=acc.usage or {},
            latency_ms=latency_ms,
            ttft_ms=ttft_ms,
            finish_reason=acc.finish_reason,
            tool_calls=acc.tool_calls,
            reasoning=acc.reasoning,
            retrievals=acc.retrievals,
            images=list(acc.images),
            complete=complete,
            interrupted=interrupted,
            error=error,
            chunks=acc.chunks,
            streamed=streamed,
            sandbox=sandbox,
        )

    @property
    def prompt_tokens(self) -> int | None:
        return self.usage.get("prompt_tokens")

    @property
    def completion_tokens(self) -> int | None:
        return self.usage.get("completion_tokens")

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-friendly values (what ``--format json`` shows, there rounded)."""
        return asdict(self)

    # -- sending metrics for this response --------------------------------------

    def feedback(self, score: int, *, comment: str | None = None, metadata: dict[str, Any] | None = None,
                 attach_metrics: bool = False) -> Any:
        """Send a 0–100 score for this answer (``comment`` goes into metadata).

        With ``attach_metrics`` the usage and timings go along. A transient
        failure keeps the submission in the outbox for a later retry.
        """
        from .store.outbox import add_metrics

        meta = dict(metadata or {})
        if comment:
            meta["comment"] = comment
        if self.trace_id:
            meta.setdefault("trace_id", self.trace_id)
        extra = self.metrics_fields() if attach_metrics else {}
        return add_metrics(self._require_id(), score=score, metadata=meta or None, **extra)

    def report_metrics(self, score: int | None = None) -> Any:
        """Send this answer's usage and performance (latency, time to first token) to orq, with an optional
        ``score`` (a whole number 0–100; default none)."""
        from .store.outbox import add_metrics

        fields = self.metrics_fields()
        metadata = {"trace_id": self.trace_id} if self.trace_id else None
        receipt = add_metrics(self._require_id(), score=score, metadata=metadata, **fields)
        what = " and ".join(w for w, key in (("usage", "usage"), ("timings", "performance")) if key in fields)
        receipt.what = (what or "metrics") + (" with a score" if score is not None else "")
        return receipt

    def metrics_fields(self) -> dict[str, Any]:
        """``usage`` and ``performance`` as the metrics endpoint wants them (what is known)."""
        fields: dict[str, Any] = {}
        if self.prompt_tokens is not None and self.completion_tokens is not None:
            fields["usage"] = dict(self.usage)
        if self.latency_ms is not None:
            performance: dict[str, float] = {"latency": round(self.latency_ms, 1)}
            if self.ttft_ms is not None:
                performance["time_to_first_token"] = round(self.ttft_ms, 1)
            fields["performance"] = performance
        return fields

    def _require_id(self) -> str:
        from .errors import ValidationError

        if not self.id:
            raise ValidationError("this answer has no response id (the stream broke before its first chunk)", field="id")
        return self.id

    # -- display ------------------------------------------------------------------

    def _repr_markdown_(self) -> str:
        from .render.markdown import render_markdown

        return render_markdown(self)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        state = "complete" if self.complete else ("interrupted" if self.interrupted else "partial")
        return f"InvokeResult({self.deployment!r}, id={self.id!r}, {state}, text={preview!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .render.markdown import render_text

        printer.text(repr(self) if cycle else render_text(self))
