"""The local store: one SQLite file for everything that must survive a restart.

Feedback waiting to be sent (the outbox), and later the response cache and
batch checkpoints, live in one database so that two notebooks, a script and a
crashed kernel all see the same state. SQLite gives what ad-hoc files cannot:
transactions, a write-ahead log (readers never block the writer), and a busy
timeout instead of a lock error when two processes write at once.

Where it lives: ``$ORQMAGIC_HOME/orqmagic.sqlite3``, else the user's data
directory (``~/.local/share/orqmagic`` on Linux, ``~/Library/Application
Support/orqmagic`` on macOS, ``%LOCALAPPDATA%\\orqmagic`` on Windows). The
directory is created private (0700) and the file readable by its owner only.

Schema changes are numbered migrations, applied in order inside one
``BEGIN IMMEDIATE`` transaction each, with the version kept in
``PRAGMA user_version``; a second process that opens the store at the same
moment waits on the lock and then finds the migration already done.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import stamina

from ..errors import OrqMagicError

FILENAME = "orqmagic.sqlite3"
BUSY_TIMEOUT_S = 30.0  # two notebooks and a flush queue on the write lock; a wait this long means trouble

# stamina logs each scheduled retry; without a handler Python would print them raw into the cell.
logging.getLogger("stamina").addHandler(logging.NullHandler())


class StoreError(OrqMagicError):
    """The local store cannot be opened, read or written (damaged, unwritable, or not a database)."""


# (version, what it adds, SQL). Append only: never edit a migration that has shipped.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "outbox: metrics submissions, recorded before they are sent", """
        CREATE TABLE outbox (
            submission_id  TEXT PRIMARY KEY,
            transaction_id TEXT NOT NULL,
            body           TEXT NOT NULL,            -- the JSON metrics body, as it will be sent
            status         TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | rejected | damaged
            attempts       INTEGER NOT NULL DEFAULT 0,
            created_at     REAL NOT NULL,
            updated_at     REAL NOT NULL,
            claimed_by     TEXT,                     -- the sender holding it now (process/thread token)
            claim_until    REAL,                     -- when that claim lapses, so a dead sender releases it
            last_error     TEXT
        );
        CREATE INDEX outbox_status ON outbox(status, created_at);
    """),
    (2, "cache: finished answers, replayed for an identical request (issue 14)", """
        CREATE TABLE cache (
            key        TEXT PRIMARY KEY,            -- sha256 of the canonical request (never the API key)
            deployment TEXT NOT NULL,
            host       TEXT NOT NULL,               -- scheme://host:port of the service, so sandbox and real differ
            trial      INTEGER NOT NULL,
            streamed   INTEGER NOT NULL,
            label      TEXT NOT NULL,               -- a short preview of the prompt, for %orq cache
            chunks     BLOB NOT NULL,               -- zlib-compressed JSON list of the chunks as received
            meta       TEXT NOT NULL,               -- JSON: latency_ms, ttft_ms of the original call
            size       INTEGER NOT NULL,
            created_at REAL NOT NULL,
            used_at    REAL NOT NULL,
            hits       INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX cache_deployment ON cache(deployment);
        CREATE INDEX cache_used ON cache(used_at);
    """),
    (3, "runs: named batch runs and each finished row, recorded as it finishes (issue 14)", """
        CREATE TABLE runs (
            name        TEXT PRIMARY KEY,
            deployment  TEXT NOT NULL,
            fingerprint TEXT NOT NULL,              -- sha256 of the prompt and every row's request
            prompt      TEXT,
            rows        INTEGER NOT NULL,
            trials      INTEGER NOT NULL,
            inputs      TEXT NOT NULL,              -- JSON records of the input rows, for load_run
            created_at  REAL NOT NULL,
            updated_at  REAL NOT NULL
        );
        CREATE TABLE run_rows (
            run         TEXT NOT NULL,
            row         INTEGER NOT NULL,
            trial       INTEGER NOT NULL,
            failed      INTEGER NOT NULL,
            result      TEXT NOT NULL,              -- JSON of the result columns
            recorded_at REAL NOT NULL,
            PRIMARY KEY (run, row, trial)
        );
    """),
    (4, "leases for owned runs, the cache's per-store secret, damaged cache rows set aside (issue 19)", """
        CREATE TABLE leases (
            name       TEXT PRIMARY KEY,            -- what is held: 'run:NAME'
            holder     TEXT NOT NULL,               -- the holder's claim token (host|pid|nonce), as in the outbox
            held_until REAL NOT NULL,               -- when the lease lapses unless renewed
            since      REAL NOT NULL
        );
        CREATE TABLE secrets (
            name  TEXT PRIMARY KEY,
            value BLOB NOT NULL                     -- random bytes made once per store; they never leave it
        );
        CREATE TABLE cache_damaged (
            key        TEXT NOT NULL,               -- a cache row that could not be read, kept for a look, never used
            chunks     BLOB,
            meta       TEXT,
            reason     TEXT NOT NULL,
            found_at   REAL NOT NULL
        );
        DELETE FROM cache;                          -- keyed by host alone, an entry may be another workspace's
    """),
    (5, "reviews: human scores of a review queue, one per case, kept the moment they are given (issue 22)", """
        CREATE TABLE reviews (
            queue         TEXT NOT NULL,
            case_key      TEXT NOT NULL,            -- JSON of the case's label in the results frame
            score         TEXT,                     -- JSON of the value on the queue's scale; NULL if skipped
            comment       TEXT,
            skipped       INTEGER NOT NULL DEFAULT 0,
            response_id   TEXT,                     -- the answer scored (its feedback goes there)
            reviewer      TEXT NOT NULL,
            metric        TEXT,                     -- the metric's name, when a definition labels the scores
            sent_score    TEXT,                     -- JSON of the last value handed to the outbox
            submission_id TEXT,                     -- that outbox record
            updated_at    REAL NOT NULL,
            answer        TEXT,                     -- sha256 of the answer's text, so another run's answers
                                                    -- without ids are told apart (NULL: it had none)
            PRIMARY KEY (queue, case_key)
        );
    """),
]
LATEST = MIGRATIONS[-1][0]


def home() -> Path:
    """``$ORQMAGIC_HOME``, else the platform's per-user data directory."""
    if os.environ.get("ORQMAGIC_HOME"):
        return Path(os.environ["ORQMAGIC_HOME"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "orqmagic"


def default_path() -> Path:
    return home() / FILENAME


class Store:
    """A handle on the store file: one SQLite connection per thread, migrations applied on first use.

    Connections are per thread because a ``sqlite3.Connection`` must not be
    shared across threads mid-transaction; the database file itself is shared
    by every thread and process.
    """

    def __init__(self, path: str | Path | None = None, *, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.timeout = timeout
        self._local = threading.local()
        self._migrated = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- connections ----------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema brought up to date) on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                self._create()
            # Opening races other openers only while a new file is set up and switched to WAL (see
            # _contended); that window is retried with backoff for as long as a busy write would have waited.
            for attempt in stamina.retry_context(on=_contended, attempts=None, timeout=self.timeout,
                                                 wait_initial=0.005, wait_max=0.25):
                with attempt:
                    return self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"the local store at {self.path} cannot be used ({type(exc).__name__}: {exc}); "
                             f"set ORQMAGIC_HOME to another folder or move the file aside") from None
        raise AssertionError("unreachable: the retry loop returns or raises")  # pragma: no cover

    def _create(self) -> None:
        """Make the store where none exists: set up in a private file beside it, then linked in whole.

        Nobody may open an empty file at the store's path while another process
        writes it: SQLite deletes the write-ahead log of a database whose main
        file has no pages yet, and with it what the first process had written
        there. A hard link publishes the finished file atomically and never
        replaces one that is already there; if another process wins, its store
        is the store. Where links are not supported, an empty private file is
        made instead and :meth:`_connect`'s migrate-before-WAL order covers it.

        A write-ahead log or rollback journal already beside a missing store
        belongs to another database (one moved or deleted without its log,
        perhaps still open in a running kernel): SQLite would replay its pages
        onto the new file and corrupt it, so the store is refused instead. The
        log is looked at before the store, so a log made by a racing opener
        after it put the store in place is never taken for a stale one.
        """
        for log in (Path(f"{self.path}-wal"), Path(f"{self.path}-journal")):
            if log.exists() and not self.path.exists():
                raise StoreError(f"the local store at {self.path} is missing but its log {log.name} is still there "
                                 "(the store was moved or deleted without it, or while a notebook had it open): move "
                                 "the log to where the store went, or delete it if that store is gone, and retry")
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}-{secrets.token_hex(4)}.new")
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # private from the start
        try:
            conn = sqlite3.connect(temporary, isolation_level=None)
            try:
                migrate(conn)
                conn.execute("PRAGMA journal_mode = WAL")  # kept in the file's header for every later opener
            finally:
                conn.close()  # the last connection folds the log into the file and removes it
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                pass
            except OSError:
                with suppress(FileExistsError):
                    os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        finally:
            for leftover in ("", "-wal", "-shm", "-journal"):
                with suppress(FileNotFoundError):
                    os.unlink(f"{temporary}{leftover}")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._refuse_newer(conn)  # before anything writes: a newer release's file is left as it was
            # Migrate *before* the switch to WAL. SQLite deletes the -wal file of a database whose main file
            # has no pages yet, so a new store switched to WAL and written there could be wiped by the next
            # process to open it. Migrations on a new file go through a rollback journal into the file itself.
            with self._lock:
                if not self._migrated:
                    migrate(conn)
                    self._migrated = True
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            return conn
        except BaseException:
            conn.close()
            raise

    def _refuse_newer(self, conn: sqlite3.Connection) -> None:
        """A store written by a newer release is not ours to change: one line naming both versions."""
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > LATEST:
            raise StoreError(f"the local store at {self.path} was made by a newer orqmagic (store version {version}; "
                             f"this release knows versions up to {LATEST}): upgrade orqmagic, or set ORQMAGIC_HOME "
                             "to another folder; the file was left untouched")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``: the write lock is taken up front, so two writers queue, not fail.

        A write the database refuses (a full disk, a damaged file) rolls back and
        becomes a :class:`StoreError` with SQLite's reason, never a raw ``sqlite3`` error.
        """
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"the local store at {self.path} is busy or damaged ({exc})") from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"the local store at {self.path} could not be written ({exc})") from None
            raise

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def schema_version(self) -> int:
        return int(self.connection().execute("PRAGMA user_version").fetchone()[0])


def _contended(exc: Exception) -> bool:
    """Whether opening failed only because another connection was setting the same new file up.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers some
    lock orders with "database is locked" at once instead of waiting, because
    waiting could deadlock; the loser may also find the rollback journal it
    meant to delete already gone. Both pass as soon as the winner is done.
    """
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+; before that, the message says "locked"
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or name == "SQLITE_IOERR_DELETE_NOENT" or (
        not name and "locked" in str(exc))


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this file has not seen yet; safe when several processes race to do it."""
    for version, _what, sql in MIGRATIONS:
        if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) < version:  # another process may have won
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a busy or failed statement may have rolled it back already
                conn.execute("ROLLBACK")
            raise
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def default_store() -> Store:
    """The store at the configured path, one handle per path in this process."""
    path = default_path()
    with _stores_lock:
        if path not in _stores:
            _stores[path] = Store(path)
        return _stores[path]


__all__ = ["LATEST", "MIGRATIONS", "Store", "StoreError", "default_path", "default_store", "home", "migrate"]
