"""Named batch runs in the local store: every row recorded as it finishes, so a run can resume.

``invoke_many(..., run="NAME")`` opens (or creates) a :class:`Run`. Each finished
row is handed to a :class:`Recorder` that commits it (with any others finished
within 50 ms) in one transaction, so a Ctrl-C, a kernel restart or a killed process
loses at most the rows in flight or queued, and those are simply sent again on
resume: a row is either recorded or re-sent, never both. A run remembers
its deployment and a fingerprint of the prompt and every row's request; calling it
again with other ones is refused (``overwrite=True`` starts it afresh), because
mixing answers to different questions under one name would make its summary lie.

A run is owned: opening it takes a lease in the store (``leases``, the outbox's
claim rules, :mod:`orqmagic.store.claims`), so one process at a time sends its
rows; a second gets :class:`~orqmagic.errors.RunBusyError` (or waits, ``wait=True``),
and ``overwrite=True`` cannot wipe a run another process is still filling. The
lease is renewed while the run works, given up when it ends, and free at once
when its holder dies. Every write checks the lease is still ours, so a runner
that lost it (lapsed while frozen) can never record answers into someone else's run.
"""


from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import RunBusyError, ValidationError
from .claims import LEASE_S, describe, forget, hold, holds, new_token, release
from .database import Store, StoreError, default_store

if TYPE_CHECKING:
    import pandas as pd

# trace_id links a row to its trace in orq (and a judged row to the judge's call).
RESULT_COLUMNS = ["text", "id", "model", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens",
                  "finish_reason", "error", "trace_id"]
_RESULT_DTYPES = {"latency_ms": "float64", "ttft_ms": "float64", "prompt_tokens": "Int64", "completion_tokens": "Int64"}


def fingerprint(prompt: str | None, requests: Sequence[dict[str, Any]]) -> str:
    canonical = json.dumps({"prompt": prompt, "requests": list(requests)}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


WAIT_POLL_S = 0.2  # how often a runner waiting for a busy run (wait=True) looks again


class LeaseLost(StoreError):
    """This runner no longer holds its run (the lease lapsed and another process took it): nothing more is recorded."""


class Run:
    """One named run: its identity in ``runs``, its finished rows in ``run_rows``, its holder in ``leases``."""

    def __init__(self, name: str, store: Store, token: str | None = None) -> None:
        self.name, self.store, self.token = name, store, token

    @property
    def lease(self) -> str:
        return f"run:{self.name}"

    @classmethod
    def open(cls, name: str, *, deployment: str, prompt: str | None, requests: Sequence[dict[str, Any]],
             inputs: pd.DataFrame, trials: int, overwrite: bool = False, wait: bool = False,
             store: Store | None = None) -> Run:
        """The run called ``name``, created if new, held by this runner until :meth:`release`.

        Refused if it was made for other questions, and (:class:`RunBusyError`) while
        another live runner holds it, unless ``wait`` (then it waits for the holder to finish).
        """
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("run must be a non-empty name", field="run")
        run = cls(name, store or default_store(), new_token())
        while True:
            try:
                holder = run._open(deployment=deployment, prompt=prompt, requests=requests, inputs=inputs,
                                   trials=trials, overwrite=overwrite)
            except BaseException:
                forget(run.token)  # refused (other questions, a full disk): we hold nothing
                raise
            if holder is None:
                return run
            if not wait:
                what = "start it afresh" if overwrite else "run it"
                raise RunBusyError(f"run {name!r} is being run by {describe(holder)}: wait for it to finish (wait=True, "
                                   f"or --wait, waits for you), or pick another name; nothing was sent, and it is not "
                                   f"safe to {what} now", run=name, holder=describe(holder))
            time.sleep(WAIT_POLL_S)

    def _open(self, *, deployment: str, prompt: str | None, requests: Sequence[dict[str, Any]], inputs: pd.DataFrame,
              trials: int, overwrite: bool) -> str | None:
        """One attempt: take the lease, then check (or create) the run, in one transaction; the live holder if busy."""
        name, store = self.name, self.store
        digest = fingerprint(prompt, requests)
        now = time.time()
        assert self.token is not None
        with store.transaction() as conn:
            holder = hold(conn, self.lease, self.token)
            if holder is not None:
                return holder
            row = conn.execute("SELECT deployment, fingerprint, prompt, rows FROM runs WHERE name = ?", (name,)).fetchone()
            if row is not None and not overwrite:
                _check_same(name, row, deployment, prompt, len(requests), digest)
                conn.execute("UPDATE runs SET trials = MAX(trials, ?), updated_at = ? WHERE name = ?", (trials, now, name))
            else:
                conn.execute("DELETE FROM run_rows WHERE run = ?", (name,))
                conn.execute("INSERT OR REPLACE INTO runs (name, deployment, fingerprint, prompt, rows, trials, inputs, "
                             "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (name, deployment, digest, prompt, len(requests), trials,
                              inputs.to_json(orient="split", default_handler=str), now, now))
        return None

    def renew(self) -> None:
        """Keep the lease while the run works (the recorder calls this well within ``LEASE_S``)."""
        if self.token is not None:
            with self.store.transaction() as conn:
                holds(conn, self.lease, self.token)

    def release(self) -> None:
        """Give the run up; a store that cannot be written costs nothing here (a dead holder's lease is free anyway)."""
        if self.token is None:
            return
        with contextlib.suppress(StoreError), self.store.transaction() as conn:
            release(conn, self.lease, self.token)

    def recorded(self) -> dict[tuple[int, int], dict[str, Any]]:
        """Every recorded row: ``(row, trial) -> result``; a row that cannot be read counts as not recorded (sent again)."""
        try:
            rows = self.store.connection().execute("SELECT row, trial, result FROM run_rows WHERE run = ?",
                                                   (self.name,)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"the recorded rows of run {self.name!r} cannot be read ({exc})") from None
        found = {}
        for r in rows:
            try:
                result = json.loads(r["result"])
            except (TypeError, ValueError):
                continue
            if isinstance(result, dict):
                found[(r["row"], r["trial"])] = result
        return found

    def record(self, row: int, trial: int, result: dict[str, Any]) -> None:
        """Record one finished row, committed at once."""
        self.record_many([(row, trial, result)])

    def record_many(self, items: Sequence[tuple[int, int, dict[str, Any]]]) -> None:
        """Record finished rows in one transaction: all of them or none."""
        now = time.time()
        values = [(self.name, row, trial, int(result.get("error") is not None), json.dumps(result, default=str), now)
                  for row, trial, result in items]
        with self.store.transaction() as conn:
            if self.token is not None and not holds(conn, self.lease, self.token):
                raise LeaseLost(f"run {self.name!r} was taken over by another process (this one lost its lease)")
            conn.executemany("INSERT OR REPLACE INTO run_rows (run, row, trial, failed, result, recorded_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)", values)


class Recorder:
    """Records finished rows from a thread of its own, one transaction per row group (``GATHER``).

    The batch's event loop only puts a row on a queue, so checkpointing never
    stalls the streams. A row finished but not yet written when the process is
    killed is simply not recorded, and is sent again on resume. A group the store
    refuses (a full disk, a lost lease) is counted in ``unrecorded`` with the
    first ``reason``, and the recorder goes on with the next: the answers are
    still returned, only their record is missing. While idle it renews the run's lease.
    """

    GATHER = 0.05  # seconds a row group stays open after its first row: what a kill can cost, sent again on resume
    GROUP = 500  # rows per transaction at most
    RENEW = LEASE_S / 4  # renew the lease this often: three renewals may fail before it lapses

    def __init__(self, run: Run) -> None:
        self._run = run
        self._queue: queue.SimpleQueue[tuple[int, int, dict[str, Any]] | None] = queue.SimpleQueue()
        self.unrecorded = 0
        self.reason: str | None = None
        self._renewed = time.monotonic()
        self._thread = threading.Thread(target=self._drain, name="orqmagic-recorder", daemon=True)
        self._thread.start()

    def record(self, row: int, trial: int, result: dict[str, Any]) -> None:
        self._queue.put((row, trial, result))

    def _drain(self) -> None:
        done = False
        while not done:
            items = self._gather()
            done = None in items
            rows = [item for item in items if item is not None]
            if rows:
                try:
                    self._run.record_many(rows)  # checks (and so renews) the lease
                    self._renewed = time.monotonic()
                except Exception as exc:  # the rows are still returned; close() tells how many were not recorded
                    self.unrecorded += len(rows)
                    self.reason = self.reason or " ".join(str(exc).split())
        self._run.store.close()

    def _renew(self) -> None:
        if time.monotonic() - self._renewed >= self.RENEW:
            self._renewed = time.monotonic()
            with contextlib.suppress(StoreError):  # the next write finds out whether the lease is still ours
                self._run.renew()

    def _gather(self) -> list[tuple[int, int, dict[str, Any]] | None]:
        """The next row group: the first queued row plus those finishing within ``GATHER`` seconds of it.

        One transaction per row group, not per row: at hundreds of rows a second a
        commit each kept this thread busy (and contending for the GIL) for half the
        batch. ``close`` (the ``None``) ends the wait at once, so nothing waits on it.
        """
        while True:
            try:
                items = [self._queue.get(timeout=self.RENEW)]
                break
            except queue.Empty:  # nothing finished for a while (slow rows): keep the lease
                self._renew()
        deadline = time.monotonic() + self.GATHER
        while items[-1] is not None and len(items) < self.GROUP:
            try:
                items.append(self._queue.get(timeout=max(deadline - time.monotonic(), 0)))
            except queue.Empty:
                break
        return items

    def close(self) -> None:
        """Write what is queued; afterwards ``unrecorded`` and ``reason`` tell what the store refused."""
        self._queue.put(None)
        finished = threading.Event()
        threading.Thread(target=lambda: (self._thread.join(), finished.set()), daemon=True).start()
        finished.wait()  # an Event, not join(): a Ctrl-C inside join() can misreport the thread (gh-90882)


def plan(slots: Sequence[tuple[int, int]], recorded: dict[tuple[int, int], dict[str, Any]], *,
         retry_failed: bool | str) -> tuple[list[dict[str, Any] | None], list[int]]:
    """Results already known (by slot position) and the positions still to send.

    ``retry_failed=True`` sends again the rows that failed for a passing reason
    (network, timeout, 429, 5xx, a broken stream); ``"all"`` every failed row,
    a 400 or 404 included (after the request or deployment was fixed).
    """
    done: list[dict[str, Any] | None] = [None] * len(slots)
    todo = []
    for index, slot in enumerate(slots):
        previous = recorded.get(slot)
        if previous is not None and not _send_again(previous, retry_failed):
            done[index] = previous
        else:
            todo.append(index)
    return done, todo


def _send_again(previous: dict[str, Any], retry_failed: bool | str) -> bool:
    if previous.get("error") is None or not retry_failed:
        return False
    return retry_failed == "all" or bool(previous.get("retryable", True))  # rows of older releases: as before


def _check_same(name: str, row: Any, deployment: str, prompt: str | None, count: int, digest: str) -> None:
    hint = "pick another run name, or pass overwrite=True to start it again"
    if row["deployment"] != deployment:
        raise ValidationError(f"run {name!r} was made with deployment {row['deployment']!r}, not {deployment!r}: {hint}",
                              field="run")
    if row["prompt"] != prompt:
        raise ValidationError(f"run {name!r} was made with another prompt: {hint}", field="run")
    if row["rows"] != count:
        raise ValidationError(f"run {name!r} has {row['rows']} rows, not {count}: {hint}", field="run")
    if row["fingerprint"] != digest:
        raise ValidationError(f"run {name!r} was made with other rows or request fields: {hint}", field="run")


def results_frame(inputs: pd.DataFrame, slots: Sequence[tuple[int, int]], results: Sequence[dict[str, Any]],
                  *, trials: int, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The inputs of each finished row joined with its result, in row order (then trial order).

    Result columns have one dtype whatever the rows hold (none, errors only, some without usage):
    timings ``float64``, token counts nullable ``Int64`` (96, not 96.0 beside a failed row's blank).
    The index is unique: the row number, or with ``trials > 1`` a running number with
    ``case`` (the row number) and ``trial`` (1..N) columns first, so ``groupby("case")``
    gathers a case's trials. An input column named like a result column is kept as
    ``input_<name>``.
    """
    import pandas as pd

    rows = [row for row, _ in slots]
    left = inputs.loc[rows].rename(columns={c: f"input_{c}" for c in inputs.columns if c in RESULT_COLUMNS})
    if trials > 1:
        left = left.rename(columns={c: f"input_{c}" for c in left.columns if c in ("case", "trial")})
        left.insert(0, "trial", [trial for _, trial in slots])
        left.insert(0, "case", rows)
        left = left.reset_index(drop=True)
    right = pd.DataFrame(list(results), columns=[*RESULT_COLUMNS, *extra], index=left.index)
    return pd.concat([left, right.astype(_RESULT_DTYPES | {c: bool for c in extra if c == "cached"})], axis=1)


def runs(store: Store | None = None) -> pd.DataFrame:
    """Every stored run: name, deployment, rows, trials, recorded / failed rows, ``created`` / ``updated``
    (UTC, to the millisecond), ``complete``. ``store``: the local store (default: the one under ``$ORQMAGIC_HOME``)."""
    import pandas as pd

    query = """
        SELECT r.name, r.deployment, r.rows, r.trials, COUNT(x.row) AS recorded, COALESCE(SUM(x.failed), 0) AS failed,
               r.created_at AS created, COALESCE(MAX(x.recorded_at), r.updated_at) AS updated
        FROM runs r LEFT JOIN run_rows x ON x.run = r.name GROUP BY r.name ORDER BY r.created_at"""
    rows = [dict(r) for r in (store or default_store()).connection().execute(query)]
    frame = pd.DataFrame(rows, columns=["name", "deployment", "rows", "trials", "recorded", "failed", "created", "updated"])
    frame = frame.astype({"name": "str", "deployment": "str", "rows": "int64", "trials": "int64", "recorded": "int64",
                          "failed": "int64"})  # the same dtypes for an empty store as for a full one
    frame["complete"] = frame["recorded"] - frame["failed"] >= frame["rows"] * frame["trials"]
    for column in ("created", "updated"):  # milliseconds: the store's clock, without nanosecond noise
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True).astype("datetime64[ms, UTC]")
    return frame


def load_run(name: str, store: Store | None = None) -> pd.DataFrame:
    """The recorded rows of run ``name``, shaped as :func:`orqmagic.invoke_many` returned them.

    ``store``: the local store to read (default: the one under ``$ORQMAGIC_HOME``).
    """
    import io

    import pandas as pd

    store = store or default_store()
    row = store.connection().execute("SELECT deployment, trials, inputs FROM runs WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in store.connection().execute("SELECT name FROM runs ORDER BY name")]
        raise ValidationError(f"no run named {name!r}" + (f"; stored runs: {', '.join(known)}" if known else ""),
                              field="run")
    inputs = pd.read_json(io.StringIO(row["inputs"]), orient="split")
    recorded = Run(name, store).recorded()
    slots = sorted(recorded)
    results = [recorded[s] for s in slots]
    extra = ["cached"] if any("cached" in r for r in results) else []
    trials = max([row["trials"], *(t for _, t in slots)])
    frame = results_frame(inputs, slots, results, trials=trials, extra=extra)
    frame.attrs.update({"deployment": row["deployment"], "run": name, "trials": trials, "rows": len(inputs)})
    return frame


__all__ = ["RESULT_COLUMNS", "LeaseLost", "Recorder", "Run", "fingerprint", "load_run", "plan", "results_frame", "runs"]
