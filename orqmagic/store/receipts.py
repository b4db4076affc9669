"""What the outbox tells its caller: a receipt per submission, a report per flush."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import RateLimitError, ServerError, TransportError


def is_transient(exc: Exception) -> bool:
    return isinstance(exc, (TransportError, RateLimitError, ServerError))


@dataclass
class Receipt:
    """What happened to one submission: ``sent`` or ``queued`` (kept for a retry).

    ``note`` says when the score was sent but the local store could not record it.
    """

    status: str
    submission_id: str
    transaction_id: str
    error: str | None = None
    note: str | None = None
    what: str = "feedback"  # what was submitted, in words: "feedback", "usage and timings", ...

    def __repr__(self) -> str:
        extra = f", error={self.error!r}" if self.error else ""
        extra += f", note={self.note!r}" if self.note else ""
        return f"Receipt({self.status}, transaction_id={self.transaction_id!r}{extra})"

    def _repr_markdown_(self) -> str:
        if self.status == "sent":
            return f"✅ {self.what} sent for `{self.transaction_id}`" + (f" (⚠ {self.note})" if self.note else "")
        return f"⏳ {self.what} kept in the outbox for a retry (`%orq flush`): {self.error}"


@dataclass
class FlushReport:
    sent: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    last_error: str | None = None

    def __repr__(self) -> str:
        damaged = f", damaged={len(self.damaged)}" if self.damaged else ""
        return (f"FlushReport(sent={len(self.sent)}, rejected={len(self.rejected)}, "
                f"still pending={len(self.pending)}{damaged})")

    def _repr_markdown_(self) -> str:
        line = f"outbox flushed: **{len(self.sent)}** sent, **{len(self.pending)}** still pending"
        if self.rejected:
            line += f", **{len(self.rejected)}** rejected ({self.rejected[0][1]})"
        if self.damaged:
            line += f", **{len(self.damaged)}** damaged records set aside (see `%orq outbox`)"
        if self.pending and self.last_error:
            line += f"; last error: {self.last_error}"
        return line
