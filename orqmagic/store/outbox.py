"""A durable outbox for feedback: nothing a user scored is lost to a flaky network, a crash or a second notebook.

Every submission is written to the local store (:mod:`orqmagic.store`) *before*
it is sent, claimed by its sender, and marked ``sent`` or ``rejected`` in a
transaction after the answer. One that fails for a transient reason (network,
timeout, 429, 5xx) stays ``pending`` and is sent again by :meth:`Outbox.flush`
(``%orq flush``) or by a background retry after the next successful send.

Exactly one sender holds a record at a time, across threads and processes: a
sender claims a record with an ``UPDATE ... WHERE status='pending' AND (unclaimed
or lease lapsed)`` inside ``BEGIN IMMEDIATE``. A claim names its process, so a
claim of a process that died on this machine is free at once; elsewhere it lapses
with its lease. Records are claimed one at a time, so a crash re-sends at most
the one record that was in flight. Each submission carries a client id in the
metrics ``metadata``, so our bookkeeping never counts a retry twice.

A new score never waits on old ones: it is sent at once, and the old ones go
in a background thread. A store that cannot be used never blocks a new score
either: it is still sent, and the receipt (or, if it could not be sent and
could not be kept, one error line) says what to do.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clients.orq import metrics_body
from ..errors import APIError, TransportError, ValidationError
from .claims import LEASE_S, claim, new_token
from .database import Store, StoreError, default_store
from .receipts import FlushReport, Receipt, is_transient

if TYPE_CHECKING:
    from ..clients import OrqClient

SUBMISSION_ID_KEY = "orqmagic_submission_id"
class Outbox:
    """Send metrics submissions through the local store, keeping the ones that fail transiently.

    ``store`` is a :class:`~orqmagic.store.Store`, a path to a store file, or
    ``None`` for the default store. A path ending in ``.jsonl`` names an outbox
    file of earlier releases: it is imported once into a store file beside it.
    """

    def __init__(self, store: Store | str | Path | None = None, *, orq: OrqClient | None = None,
                 lease: float = LEASE_S) -> None:
        legacy: Path | None = None
        if store is None:
            from .legacy import legacy_path

            self.store, legacy = default_store(), legacy_path()
        elif isinstance(store, Store):
            self.store = store
        elif Path(store).suffix == ".jsonl":
            legacy = Path(store).expanduser()
            self.store = Store(legacy.with_suffix(".sqlite3"))
        else:
            self.store = Store(store)
        self._legacy = legacy
        self._orq = orq
        self.lease = lease
        self._token = new_token()
        self._background: threading.Thread | None = None
        self._bg_lock = threading.Lock()
        self._stop = threading.Event()
        self.import_note: str | None = None

    @property
    def path(self) -> Path:
        return self.store.path

    def __repr__(self) -> str:
        try:
            pending = str(len(self.pending()))
        except StoreError:
            pending = "unknown (store unusable)"
        return f"Outbox({str(self.path)!r}, pending={pending})"

    def _client(self) -> OrqClient:
        if self._orq is not None:
            return self._orq
        from ..clients import RetryPolicy
        from ..clients.shared import client

        # Feedback is kept and retried by the outbox, so one send does not wait long on a dead network.
        return client("orq", timeout=5.0, retry=RetryPolicy(attempts=2, timeout=6.0, max_retry_after=2.0))

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, after importing a legacy JSONL outbox once."""
        conn = self.store.connection()
        if self._legacy is not None:
            from .legacy import import_jsonl

            legacy, self._legacy = self._legacy, None
            try:
                self.import_note = import_jsonl(self.store, legacy)
            except (StoreError, sqlite3.Error) as exc:
                self._legacy = legacy  # tried again next time; the file is left as it was
                self.import_note = f"the old outbox file {legacy} could not be imported yet ({exc})"
        return conn

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        try:
            self._db()
            with self.store.transaction() as conn:
                return conn.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise StoreError(f"the local store at {self.store.path} cannot be written ({exc}); "
                             "set ORQMAGIC_HOME to another folder or move the file aside") from None

    # -- reading ------------------------------------------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        """Submissions not yet delivered or rejected, oldest first (damaged records are not included)."""
        return [r for r in self.records("pending") if r["body"] is not None]

    def records(self, status: str | None = None) -> list[dict[str, Any]]:
        """Rows of the outbox as dicts (``id``, ``transaction_id``, ``body``, ``status``, ``queued_at``, ``error``)."""
        try:
            conn = self._db()
            query = "SELECT * FROM outbox" + (" WHERE status = ?" if status else "") + " ORDER BY created_at, rowid"
            rows = conn.execute(query, (status,) if status else ()).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"the local store at {self.store.path} cannot be read ({exc})") from None
        out = []
        for row in rows:
            try:
                body = json.loads(row["body"])
            except ValueError:
                body = None
            out.append({"id": row["submission_id"], "transaction_id": row["transaction_id"], "body": body,
                        "status": row["status"], "attempts": row["attempts"], "queued_at": row["created_at"],
                        "error": row["last_error"], "claimed": row["claimed_by"] is not None})
        return out

    # -- sending ------------------------------------------------------------------------

    def submit(self, transaction_id: str, *, submission_id: str | None = None, **fields: Any) -> Receipt:
        """Validate, record, send at once; a transient failure leaves the submission pending.

        ``transaction_id``: the response id the metrics belong to; the fields as for :func:`add_metrics`.
        ``submission_id`` makes a submission idempotent across calls and processes:
        if the outbox already holds one with that id (sent, pending or rejected),
        nothing is recorded or sent and the receipt says ``duplicate``. The check is
        the record's primary key, so two senders cannot both pass it.
        """
        transaction_id, submission_id, body, encoded = _prepare(transaction_id, fields, submission_id)
        now = time.time()
        unrecorded: str | None = None
        try:
            inserted = self._write("INSERT OR IGNORE INTO outbox (submission_id, transaction_id, body, status, attempts, "
                                   "created_at, updated_at, claimed_by, claim_until) "
                                   "VALUES (?, ?, ?, 'pending', 1, ?, ?, ?, ?)",
                                   (submission_id, transaction_id, encoded, now, now, self._token, now + self.lease))
        except StoreError as exc:
            unrecorded = str(exc)
        else:
            if not inserted:
                return Receipt("duplicate", submission_id, transaction_id, note="already in the outbox: not sent again")
        try:
            self._client().add_metrics(transaction_id, **_fields_of(body))
        except (APIError, TransportError) as exc:
            if unrecorded is not None:
                raise StoreError(f"feedback for {transaction_id} was not sent ({exc}) and could not be kept: "
                                 f"{unrecorded}; then send it again") from None
            if not is_transient(exc):
                self._settle(submission_id, "rejected", str(exc))
                raise
            self._release(submission_id, str(exc))
            return Receipt("queued", submission_id, transaction_id, str(exc))
        except BaseException:
            if unrecorded is None:
                self._release(submission_id, "interrupted before an answer")
            raise
        note = None
        if unrecorded is None:
            note = self._settle(submission_id, "sent", None)
            self._retry_in_background()
        else:
            note = f"sent, but not recorded: {unrecorded}"
        return Receipt("sent", submission_id, transaction_id, note=note)

    def send_one(self, submission_id: str) -> str | None:
        """Claim and send the recorded submission ``submission_id`` (see :func:`enqueue`): ``sent``, ``pending`` (a transient
        failure keeps it for the next flush), ``rejected``, ``damaged``, or None when another sender holds it
        or it is already done. Either way it is sent at most once by our bookkeeping."""
        if not self._holds(submission_id) and not self._claim(submission_id):
            return None
        row = self._db().execute("SELECT transaction_id, body FROM outbox WHERE submission_id = ?",
                                 (submission_id,)).fetchone()
        try:
            body = json.loads(row["body"])
        except ValueError:
            body = None
        record = {"id": submission_id, "transaction_id": row["transaction_id"], "body": body}
        report = FlushReport()
        self._send_claimed(record, report)
        if report.sent:
            self._retry_in_background()
            return "sent"
        return "pending" if report.pending else ("rejected" if report.rejected else "damaged")

    def enqueue(self, conn: sqlite3.Connection, transaction_id: str, **fields: Any) -> str:
        """:func:`enqueue` held by this sender (for its lease), so a background flush leaves it to
        :meth:`send_one` and the submissions of one caller go out in the order they were given.

        ``conn`` is the caller's connection inside its open transaction; ``transaction_id`` the response id the
        feedback is for; the fields are those of :func:`add_metrics` (``score``, ``metadata``, …).
        """
        return enqueue(conn, transaction_id, claimed_by=self._token, claim_until=time.time() + self.lease, **fields)

    def _holds(self, submission_id: str) -> bool:
        """Renew this sender's own claim on a pending record (and count the attempt); False if it holds none."""
        now = time.time()
        return self._write("UPDATE outbox SET attempts = attempts + 1, claim_until = ?, updated_at = ? "
                           "WHERE submission_id = ? AND status = 'pending' AND claimed_by = ?",
                           (now + self.lease, now, submission_id, self._token)) == 1

    def _settle(self, submission_id: str, status: str, error: str | None) -> str | None:
        """Mark a claimed record done; returns a note if the store refused (it stays pending, may be re-sent)."""
        try:
            self._write("UPDATE outbox SET status = ?, last_error = ?, updated_at = ?, claimed_by = NULL, "
                        "claim_until = NULL WHERE submission_id = ?", (status, error, time.time(), submission_id))
        except StoreError as exc:
            return f"sent, but could not be marked done ({exc}); it may be sent once more"
        return None

    def _release(self, submission_id: str, error: str) -> None:
        with contextlib.suppress(StoreError):  # else the claim lapses with its lease (or when this process ends)
            self._write("UPDATE outbox SET last_error = ?, updated_at = ?, claimed_by = NULL, claim_until = NULL "
                        "WHERE submission_id = ? AND claimed_by = ?", (error, time.time(), submission_id, self._token))

    def _claim(self, submission_id: str) -> bool:
        """Take one pending record for this sender; False if another sender holds it or it is done."""
        try:
            self._db()
            with self.store.transaction() as conn:
                return claim(conn, submission_id, self._token, self.lease)
        except sqlite3.Error as exc:
            raise StoreError(f"the local store at {self.store.path} cannot be written ({exc})") from None

    def flush(self, *, on_progress: Callable[[int, int], None] | None = None) -> FlushReport:
        """Send every pending submission once (those another sender holds are skipped); keep transient failures.

        ``on_progress``: called with ``(done, total)`` as submissions are sent (default: none).
        """
        report = FlushReport()
        candidates = self.records("pending")
        for done, record in enumerate(candidates, 1):
            if self._stop.is_set():
                report.pending.append(record["id"])
                continue
            if self._claim(record["id"]):
                self._send_claimed(record, report)
            elif self._still_pending(record["id"]):  # another sender holds it right now
                report.pending.append(record["id"])
            if on_progress:
                on_progress(done, len(candidates))
        return report

    def _still_pending(self, submission_id: str) -> bool:
        row = self._db().execute("SELECT status FROM outbox WHERE submission_id = ?", (submission_id,)).fetchone()
        return row is not None and row["status"] == "pending"

    def _send_claimed(self, record: dict[str, Any], report: FlushReport) -> None:
        body = record["body"]
        if not isinstance(body, dict) or not isinstance(record["transaction_id"], str):
            self._settle(record["id"], "damaged", "the stored body is not a metrics body")
            report.damaged.append(record["id"])
            return
        try:
            self._client().add_metrics(record["transaction_id"], **_fields_of(body))
        except (APIError, TransportError) as exc:
            if is_transient(exc):
                self._release(record["id"], str(exc))
                report.pending.append(record["id"])
                report.last_error = str(exc)
            else:
                self._settle(record["id"], "rejected", str(exc))
                report.rejected.append((record["id"], str(exc)))
            return
        except (ValidationError, TypeError, ValueError) as exc:  # a stored body that no longer validates
            self._settle(record["id"], "damaged", f"cannot be sent: {exc}")
            report.damaged.append(record["id"])
            return
        except BaseException:
            self._release(record["id"], "interrupted before an answer")
            raise
        self._settle(record["id"], "sent", None)
        report.sent.append(record["id"])

    # -- background retries ---------------------------------------------------------------

    def _retry_in_background(self) -> None:
        """After a successful send, send what is still pending in a thread (the caller does not wait)."""
        try:
            row = self._db().execute("SELECT 1 FROM outbox WHERE status = 'pending' AND claimed_by IS NULL LIMIT 1").fetchone()
        except sqlite3.Error:
            return
        if row is None:
            return
        with self._bg_lock:
            if self._background is not None and self._background.is_alive():
                return
            self._background = threading.Thread(target=self._background_flush, name="orqmagic-outbox", daemon=True)
            _running.add(self)
            self._background.start()

    def _background_flush(self) -> None:
        try:
            self.flush()
        except Exception:  # a background retry must never surface as a thread traceback
            pass
        finally:
            self.store.close()
            _running.discard(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background retry to end; True if none is running any more.

        ``timeout``: at most this many seconds (default: as long as it takes).
        """
        thread = self._background
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def stop(self, timeout: float | None = 15.0) -> None:
        """Let a background retry finish the record in flight and stop (called at exit).

        ``timeout``: seconds to wait for it (default 15; None: as long as it takes).
        """
        self._stop.set()
        self.wait(timeout)
        self._stop.clear()


def enqueue(conn: sqlite3.Connection, transaction_id: str, *, claimed_by: str | None = None,
            claim_until: float | None = None, **fields: Any) -> str:
    """Record a pending submission inside the caller's transaction and return its id; nothing is sent yet.

    For callers whose own state must change in the same transaction as the
    outbox (the review queue records a score and the feedback it sends
    together, so two notebooks never both send it). Send it with
    :meth:`Outbox.send_one`, or let the next flush do it.
    """
    transaction_id, submission_id, _body, encoded = _prepare(transaction_id, fields)
    now = time.time()
    conn.execute("INSERT INTO outbox (submission_id, transaction_id, body, status, attempts, created_at, updated_at, "
                 "claimed_by, claim_until) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                 (submission_id, transaction_id, encoded, now, now, claimed_by, claim_until))
    return submission_id


def _prepare(transaction_id: str, fields: dict[str, Any],
             submission_id: str | None = None) -> tuple[str, str, dict[str, Any], str]:
    """Checked id, the submission id (given, or a new one), the metrics body carrying it in ``metadata``, and
    that body as stored."""
    from ..clients.orq import check_id

    transaction_id = check_id(transaction_id, "transaction_id", what="the response id")
    body = metrics_body(**fields)
    if submission_id is not None and (not isinstance(submission_id, str) or not submission_id.strip()):
        raise ValidationError("submission_id must be non-empty text", field="submission_id")
    submission_id = submission_id or uuid.uuid4().hex
    body["metadata"] = {**body.get("metadata", {}), SUBMISSION_ID_KEY: submission_id}
    return transaction_id, submission_id, body, json.dumps(body, separators=(",", ":"), allow_nan=False)


def _fields_of(body: dict[str, Any]) -> dict[str, Any]:
    """The keyword form of a metrics body (``feedback.score`` becomes ``score``)."""
    fields = {k: v for k, v in body.items() if k != "feedback"}
    if "feedback" in body:
        fields["score"] = body["feedback"]["score"]
    return fields


_running: set[Outbox] = set()


@atexit.register
def _stop_background() -> None:
    """At exit, the record in flight is finished and marked, not cut off (which could send it twice)."""
    for box in list(_running):
        box.stop()


_default: dict[tuple[Path, str], Outbox] = {}
_default_lock = threading.Lock()


def default_outbox() -> Outbox:
    """The outbox on the default store (one per store path and legacy file in this process)."""
    from .database import default_path
    from .legacy import legacy_path

    key = (default_path(), str(legacy_path()))
    with _default_lock:
        if key not in _default:
            _default[key] = Outbox()
        return _default[key]


def add_metrics(
    transaction_id: str,
    *,
    score: int | None = None,
    usage: dict[str, Any] | None = None,
    performance: dict[str, Any] | None = None,
    messages: list[dict] | None = None,
    choices: list[dict] | None = None,
    metadata: dict[str, Any] | None = None,
    outbox: Outbox | None = None,
) -> Receipt:
    """Send feedback, usage and performance for response ``transaction_id`` to orq.

    Everything is checked before sending. A transient failure (network, timeout,
    429, 5xx) does not lose the submission: it waits in the outbox and is sent
    again by ``%orq flush`` or in the background after the next send. Returns the receipt.

    ``score``: a whole number 0–100 (default: none). ``usage``: ``{"prompt_tokens", "completion_tokens",
    ...}``; ``performance``: ``{"latency", "time_to_first_token"}`` in ms; ``messages`` / ``choices``:
    the conversation and answers in the chat format; ``metadata``: a dict of your own (a ``comment``,
    ...). Each defaults to ``None`` (left out of the request); at least one must be given.
    ``outbox``: the outbox to use (default: the one in the local store).
    """
    box = outbox or default_outbox()
    return box.submit(transaction_id, score=score, usage=usage, performance=performance,
                      messages=messages, choices=choices, metadata=metadata)


__all__ = ["SUBMISSION_ID_KEY", "FlushReport", "Outbox", "Receipt", "add_metrics", "default_outbox", "enqueue",
           "is_transient"]
