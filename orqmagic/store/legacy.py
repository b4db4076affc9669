"""One-time import of the JSON-lines outbox of earlier releases into the local store.

The old file (``$ORQMAGIC_OUTBOX``, default ``<data dir>/orqmagic/outbox.jsonl``)
held an ``add`` line per queued submission and a ``done`` line per delivered one.
Everything in it is kept: pending submissions become pending records, and lines
that cannot be read (torn by a crash, invalid UTF-8, not a record) are stored
as ``damaged`` records with their raw text, where ``%orq outbox`` shows them.
A torn line that glued the next record onto itself is split, so that record
still counts. The import is idempotent (ids are primary keys), so two processes
racing to do it, or a crash between the import and renaming the file to
``*.imported``, cannot duplicate or lose anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .database import Store, home

_RECORD_START = re.compile(r'(?=\{"op")')


def legacy_path() -> Path:
    """``$ORQMAGIC_OUTBOX``, else ``outbox.jsonl`` in the data directory (where earlier releases kept it)."""
    if os.environ.get("ORQMAGIC_OUTBOX"):
        return Path(os.environ["ORQMAGIC_OUTBOX"]).expanduser()
    return home() / "outbox.jsonl"


def _valid(record: Any) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        return False
    if record.get("op") == "add":
        return isinstance(record.get("transaction_id"), str) and isinstance(record.get("body"), dict)
    return record.get("op") == "done" and record.get("status") in ("sent", "rejected")


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], list[tuple[int, str, str]]]:
    """Records, and damaged pieces as ``(line number, raw text, reason)``."""
    records: list[dict[str, Any]] = []
    damaged: list[tuple[int, str, str]] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            damaged.append((number, raw.decode("utf-8", "backslashreplace"), "not valid UTF-8"))
            continue
        for piece in [p for p in _RECORD_START.split(text) if p.strip()]:
            try:
                record = json.loads(piece)
            except ValueError:
                damaged.append((number, piece, "not valid JSON (a line torn by a crash?)"))
                continue
            if _valid(record):
                records.append(record)
            else:
                damaged.append((number, piece, "not an outbox record"))
    return records, damaged


def import_jsonl(store: Store, path: Path) -> str | None:
    """Import ``path`` into ``store`` once and rename it ``*.imported``; returns a note for the user, if any."""
    try:
        if not path.exists():
            return None
        if path.is_dir():
            return f"{path} is a folder, not an outbox file: left alone"
        data = path.read_bytes()
    except OSError as exc:
        return f"the old outbox file {path} cannot be read ({exc.strerror or exc}): left alone"
    records, damaged = parse_lines(data)
    done = {r["id"]: r for r in records if r["op"] == "done"}
    now = time.time()
    with store.transaction() as conn:
        for record in records:
            if record["op"] != "add":
                continue
            finished = done.get(record["id"])
            queued_at = record.get("queued_at") if isinstance(record.get("queued_at"), (int, float)) else now
            conn.execute(
                "INSERT OR IGNORE INTO outbox (submission_id, transaction_id, body, status, attempts, created_at, "
                "updated_at, last_error) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                (record["id"], record["transaction_id"], json.dumps(record["body"]),
                 finished["status"] if finished else "pending", queued_at, now,
                 str(record.get("error")) if record.get("error") else None))
        for record in done.values():
            conn.execute("UPDATE outbox SET status = ?, updated_at = ? WHERE submission_id = ? AND status = 'pending'",
                         (record["status"], now, record["id"]))
        for number, raw, reason in damaged:
            digest = hashlib.sha256(f"{path}:{number}:{raw}".encode()).hexdigest()[:24]
            conn.execute(
                "INSERT OR IGNORE INTO outbox (submission_id, transaction_id, body, status, created_at, updated_at, "
                "last_error) VALUES (?, '', ?, 'damaged', ?, ?, ?)",
                (f"damaged-{digest}", raw, now, now, f"line {number} of {path.name}: {reason}"))
    target = path.with_name(path.name + ".imported")
    if target.exists():
        target = path.with_name(f"{path.name}.{int(now)}.imported")
    try:
        path.rename(target)
    except OSError:
        return f"imported {path}, but could not rename it; it will be imported again (harmlessly)"
    if damaged:
        return f"imported {path}; {len(damaged)} unreadable line(s) kept as damaged records (`%orq outbox`)"
    return None
