"""The ``reviews`` table: every human score of a review queue, kept the moment it is given.

One row per (queue, case): a changed score replaces the old one, so a kernel
restart, a closed tab or a second notebook on the same queue resumes where it
stood. The feedback a score sends is recorded in the outbox *in the same
transaction* as the score, and only when the value differs from the last one
handed to the outbox: two notebooks giving the same score to one case send it
once, a changed score sends the new value once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from .database import Store, StoreError
from .outbox import Outbox, enqueue

_COLUMNS = ("case_key, score, comment, skipped, response_id, reviewer, metric, sent_score, submission_id, updated_at, "
            "answer")


@dataclass(frozen=True)
class Review:
    """One stored row: ``score`` and ``case`` decoded from JSON, ``skipped`` a bool, ``time`` epoch seconds."""

    case: Any
    score: Any
    comment: str | None
    skipped: bool
    response_id: str | None
    reviewer: str
    metric: str | None
    time: float
    answer: str | None = None  # a fingerprint of the answer's text (see :func:`fingerprint`); None if it had none


def case_key(case: Any) -> str:
    """The stored key of a case label: canonical JSON, so ``3``, ``numpy.int64(3)`` and ``3.0`` do not differ."""
    return json.dumps(plain(case), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plain(value: Any) -> Any:
    """A JSON-able Python value for a case label or a score (numpy scalars, tuples, whole floats)."""
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def fingerprint(text: Any) -> str | None:
    """The sha256 of an answer's text (None for none): tells another run's answer apart when there is no id."""
    if text is None or (isinstance(text, float) and text != text):
        return None
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


def save(store: Store, queue: str, case: Any, *, score: Any, comment: str | None, skipped: bool,
         response_id: str | None, reviewer: str, metric: str | None,
         feedback: dict[str, Any] | None, outbox: Outbox | None = None, answer: str | None = None) -> str | None:
    """Upsert one case's review in one ``BEGIN IMMEDIATE`` transaction; returns the outbox record to send, if any.

    ``score`` None keeps the stored score (a comment alone); ``comment`` None
    keeps the stored comment. ``feedback`` (metrics fields: ``score``,
    ``metadata``) is recorded in the outbox only if this score differs from the
    last one sent for the case, so a value is sent once however often it is
    given, by however many notebooks. The record is held by ``outbox`` (its
    sender sends it next, in order), else left for any flush. ``answer`` is the
    :func:`fingerprint` of the answer scored.
    """
    key = case_key(case)
    encoded = None if score is None else json.dumps(plain(score))
    try:
        with store.transaction() as conn:
            row = conn.execute("SELECT score, comment, skipped, sent_score FROM reviews WHERE queue = ? AND case_key = ?",
                               (queue, key)).fetchone()
            new_score = encoded if encoded is not None else (row["score"] if row else None)
            new_comment = comment if comment is not None else (row["comment"] if row else None)
            new_skipped = skipped and encoded is None and (row is None or row["score"] is None)
            sent = row["sent_score"] if row else None
            submission = None
            if feedback is not None and encoded is not None and encoded != sent and response_id:
                submission = (outbox.enqueue(conn, response_id, **feedback) if outbox is not None
                              else enqueue(conn, response_id, **feedback))
                sent = encoded
            conn.execute(
                f"INSERT OR REPLACE INTO reviews (queue, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (queue, key, new_score, new_comment, int(new_skipped), response_id, reviewer, metric, sent,
                 submission, time.time(), answer))
            return submission
    except sqlite3.Error as exc:
        raise StoreError(f"the local store at {store.path} cannot be written ({exc}); the score was not kept") from None


def load(store: Store, queue: str) -> list[Review]:
    """Every stored review of ``queue``, oldest change first."""
    return _select(store, "queue = ?", (queue,))


def _select(store: Store, where: str, args: tuple[Any, ...]) -> list[Review]:
    try:
        rows = store.connection().execute(f"SELECT {_COLUMNS} FROM reviews WHERE {where} ORDER BY updated_at, rowid",
                                          args).fetchall()
    except sqlite3.Error as exc:
        raise StoreError(f"the local store at {store.path} cannot be read ({exc})") from None
    return [Review(case=_decode(r["case_key"]), score=_decode(r["score"]), comment=r["comment"],
                   skipped=bool(r["skipped"]), response_id=r["response_id"], reviewer=r["reviewer"],
                   metric=r["metric"], time=r["updated_at"], answer=r["answer"]) for r in rows]


def load_one(store: Store, queue: str, case: Any) -> Review | None:
    """The stored review of one case, or None."""
    found = [r for r in _select(store, "queue = ? AND case_key = ?", (queue, case_key(case)))]
    return found[0] if found else None


def queues(store: Store) -> list[str]:
    """Names of the queues with stored reviews."""
    return [r[0] for r in store.connection().execute("SELECT DISTINCT queue FROM reviews ORDER BY queue")]


__all__ = ["Review", "case_key", "fingerprint", "load", "load_one", "plain", "queues", "save"]
