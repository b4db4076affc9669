"""Opening the store where the last one was moved or deleted without its log (write-ahead log or rollback journal).

A new store is set up in a private file and linked into place whole. Before
that, SQLite made the file empty and deleted any write-ahead log beside an empty
file; a whole file has pages, so SQLite takes a log left beside it for its own
and replays that log's pages onto it; a hot rollback journal is played back the
same way. A log left by another database (the store
moved aside without it, as the store's own error line suggests, or deleted
while a kernel still has it open) turned the new store into a damaged mix of
both: ``count(*)`` and the outbox index disagreed and ``integrity_check``
failed (pages never used, rows missing from indexes), with every opener
reporting success. Such a log must be refused with
one line, and the log, which may be all that is left of the old store's last
writes, must be left as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orqmagic.store.database import Store
from orqmagic.store.outbox import Outbox, enqueue

ROOT = Path(__file__).resolve().parents[1]

OPENER = r"""
import os, sys, time
store_path, gate = sys.argv[1], sys.argv[2]
from orqmagic.store.database import Store, StoreError
from orqmagic.store.outbox import enqueue
while not os.path.exists(gate):  # every process is loaded and waiting: they open together
    time.sleep(0.0005)
try:
    with Store(store_path).transaction() as conn:
        enqueue(conn, f"resp-{os.getpid()}", score=1)
except StoreError as exc:
    print(exc)
    sys.exit(3)
"""


def stale_wal(folder: Path, before: int, after: int, checkpointed: bool) -> Path:
    """A store in ``folder`` whose last writes are still only in its write-ahead log; returns a copy of that log."""
    store = Store(folder / "orqmagic.sqlite3")
    with store.transaction() as conn:
        for i in range(before):
            enqueue(conn, f"old-{i}", score=1)
    conn = store.connection()
    if checkpointed:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint = 0")  # what a killed process leaves: commits not yet folded in
    with store.transaction() as conn:
        conn.execute("DELETE FROM outbox WHERE rowid % 3 = 0")
        for i in range(after):
            enqueue(conn, f"old2-{i}", score=1)
    copy = folder / "kept-log"
    shutil.copyfile(folder / "orqmagic.sqlite3-wal", copy)  # taken while open: closing would fold the log in
    store.close()
    return copy


def stale_journal(folder: Path, before: int, after: int) -> Path:
    """A rollback-mode file caught mid-transaction, its journal hot (as a kill leaves it); returns a copy of it."""
    conn = sqlite3.connect(folder / "orqmagic.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE t (x BLOB)")
    for _ in range(before // 10 + 2):
        conn.execute("INSERT INTO t VALUES (randomblob(3000))")
    conn.execute("PRAGMA cache_size = 1")  # changed pages spill into the file, so the journal is synced and hot
    conn.execute("BEGIN")
    conn.execute("UPDATE t SET x = randomblob(3000 + ?)", (after,))
    conn.execute("PRAGMA user_version = 7")
    copy = folder / "kept-log"
    shutil.copyfile(folder / "orqmagic.sqlite3-journal", copy)
    conn.execute("ROLLBACK")
    conn.close()
    return copy


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(processes=st.integers(1, 4), suffix=st.sampled_from(["-wal", "-journal"]), before=st.integers(0, 300),
       after=st.integers(1, 60), checkpointed=st.booleans(), with_shm=st.booleans())
def test_a_log_left_beside_a_missing_store_is_refused_by_every_opener_and_left_alone(
        tmp_path_factory, processes, suffix, before, after, checkpointed, with_shm):
    old = tmp_path_factory.mktemp("old")
    kept = stale_wal(old, before, after, checkpointed) if suffix == "-wal" else stale_journal(old, before, after)
    home = tmp_path_factory.mktemp("home")
    store = home / "orqmagic.sqlite3"
    log = home / f"orqmagic.sqlite3{suffix}"
    shutil.copyfile(kept, log)  # the store went, its log stayed
    if with_shm:
        (home / "orqmagic.sqlite3-shm").write_bytes(b"\0" * 32768)
    digest = hashlib.sha256(log.read_bytes()).hexdigest()
    gate = home / "gate"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "HOME": str(home)}
    workers = [subprocess.Popen([sys.executable, "-c", OPENER, str(store), str(gate)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    gate.touch()
    results = [(w.communicate(timeout=60), w.returncode) for w in workers]
    for (out, err), code in results:
        assert code == 3 and not err, err[-3000:]  # a StoreError, never a raw sqlite3 error or a traceback
        assert out.count("\n") == 1 and f"its log orqmagic.sqlite3{suffix} is still there" in out, out
    assert not store.exists()
    assert hashlib.sha256(log.read_bytes()).hexdigest() == digest
    assert not [p.name for p in home.iterdir() if ".new" in p.name]

    # The log gone (moved to its store, or deleted), the next open makes a sound, empty store.
    log.unlink()
    fresh = Store(store)
    with fresh.transaction() as conn:
        enqueue(conn, "fresh", score=1)
    conn = fresh.connection()
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r["transaction_id"] for r in conn.execute("SELECT transaction_id FROM outbox")] == ["fresh"]
    fresh.close()
    assert [r["transaction_id"] for r in Outbox(store).pending()] == ["fresh"]

