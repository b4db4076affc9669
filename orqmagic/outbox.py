"""A durable outbox for feedback: nothing a user scored is lost to a flaky network.

Submissions are sent at once. One that fails for a transient reason (network,
timeout, 429, 5xx) is appended to a local JSON-lines file and sent again by
:meth:`Outbox.flush` (``%orq flush``) and before every later send. The file is
append-only: an ``add`` line per queued submission and a ``done`` line when it
was delivered or rejected, so a crash at any point loses nothing and a kernel
restart picks the pending ones up again. Each submission has a client id, also
sent in the metrics ``metadata``, so our bookkeeping never counts a retry twice.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clients.orq import metrics_body
from .errors import APIError, RateLimitError, ServerError, TransportError, ValidationError

if TYPE_CHECKING:
    from .clients import OrqClient

SUBMISSION_ID_KEY = "orqmagic_submission_id"


def default_path() -> Path:
    """``$ORQMAGIC_OUTBOX``, else the user's data directory."""
    if os.environ.get("ORQMAGIC_OUTBOX"):
        return Path(os.environ["ORQMAGIC_OUTBOX"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "orqmagic" / "outbox.jsonl"


def is_transient(exc: Exception) -> bool:
    return isinstance(exc, (TransportError, RateLimitError, ServerError))


@dataclass
class Receipt:
    """What happened to one submission: ``sent`` or ``queued`` (kept for a retry)."""

    status: str
    submission_id: str
    transaction_id: str
    error: str | None = None
    what: str = "feedback"  # what was submitted, in words: "feedback", "usage and timings", ...

    def __repr__(self) -> str:
        extra = f", error={self.error!r}" if self.error else ""
        return f"Receipt({self.status}, transaction_id={self.transaction_id!r}{extra})"

    def _repr_markdown_(self) -> str:
        if self.status == "sent":
            return f"✅ {self.what} sent for `{self.transaction_id}`"
        return f"⏳ {self.what} kept in the outbox for a retry (`%orq flush`): {self.error}"


@dataclass
class FlushReport:
    sent: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    last_error: str | None = None

    def __repr__(self) -> str:
        return f"FlushReport(sent={len(self.sent)}, rejected={len(self.rejected)}, still pending={len(self.pending)})"

    def _repr_markdown_(self) -> str:
        line = f"outbox flushed: **{len(self.sent)}** sent, **{len(self.pending)}** still pending"
        if self.rejected:
            line += f", **{len(self.rejected)}** rejected ({self.rejected[0][1]})"
        if self.pending and self.last_error:
            line += f"; last error: {self.last_error}"
        return line


class Outbox:
    """Send metrics submissions, keeping the ones that fail transiently for later."""

    def __init__(self, path: str | Path | None = None, *, orq: OrqClient | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._orq = orq
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r}, pending={len(self.pending())})"

    def _client(self) -> OrqClient:
        if self._orq is not None:
            return self._orq
        from .api import client

        return client("orq")

    # -- the log ----------------------------------------------------------------------

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def _read(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a crash mid-write: the rest of the log still counts
        return records

    def pending(self) -> list[dict[str, Any]]:
        """Queued submissions not yet delivered or rejected, oldest first."""
        with self._lock:
            records = self._read()
        done = {r["id"] for r in records if r.get("op") == "done"}
        seen: dict[str, dict[str, Any]] = {}
        for record in records:
            if record.get("op") == "add" and record["id"] not in done:
                seen.setdefault(record["id"], record)
        return list(seen.values())

    def _compact_if_empty(self) -> None:
        if self.path.exists() and not self.pending():
            self.path.unlink()

    # -- sending ------------------------------------------------------------------------

    def submit(self, transaction_id: str, **fields: Any) -> Receipt:
        """Validate, then send at once; a transient failure queues the submission."""
        if not isinstance(transaction_id, str) or not transaction_id.strip():
            raise ValidationError("the response id must be a non-empty string", field="transaction_id")
        body = metrics_body(**fields)
        submission_id = uuid.uuid4().hex
        body["metadata"] = {**body.get("metadata", {}), SUBMISSION_ID_KEY: submission_id}
        if self.pending():
            self.flush()
        try:
            self._client().add_metrics(transaction_id.strip(), **_fields_of(body))
        except APIError as exc:
            if not is_transient(exc):
                raise
            return self._queue(submission_id, transaction_id, body, exc)
        except TransportError as exc:
            return self._queue(submission_id, transaction_id, body, exc)
        return Receipt("sent", submission_id, transaction_id)

    def _queue(self, submission_id: str, transaction_id: str, body: dict[str, Any], exc: Exception) -> Receipt:
        with self._lock:
            self._append({"op": "add", "id": submission_id, "transaction_id": transaction_id, "body": body,
                          "queued_at": time.time(), "error": str(exc)})
        return Receipt("queued", submission_id, transaction_id, str(exc))

    def flush(self) -> FlushReport:
        """Send every pending submission once; keep the ones that still fail transiently."""
        report = FlushReport()
        with self._lock:
            for record in self.pending():
                try:
                    self._client().add_metrics(record["transaction_id"], **_fields_of(record["body"]))
                except (APIError, TransportError) as exc:
                    if is_transient(exc):
                        report.pending.append(record["id"])
                        report.last_error = str(exc)
                        continue
                    self._append({"op": "done", "id": record["id"], "status": "rejected", "error": str(exc)})
                    report.rejected.append((record["id"], str(exc)))
                    continue
                self._append({"op": "done", "id": record["id"], "status": "sent"})
                report.sent.append(record["id"])
            self._compact_if_empty()
        return report


def _fields_of(body: dict[str, Any]) -> dict[str, Any]:
    """The keyword form of a metrics body (``feedback.score`` becomes ``score``)."""
    fields = {k: v for k, v in body.items() if k != "feedback"}
    if "feedback" in body:
        fields["score"] = body["feedback"]["score"]
    return fields


_default: dict[Path, Outbox] = {}


def default_outbox() -> Outbox:
    """The outbox at the configured path (one per path in this process)."""
    path = default_path()
    if path not in _default:
        _default[path] = Outbox(path)
    return _default[path]
