"""Who may send an outbox record, or run a named run: claim tokens, leases, and claims of processes that died.

A claim names its host and process, so a claim of a process that died on this
machine is free at once; a claim made elsewhere lapses with its lease. Claiming
is one check-and-update, run by the caller inside ``BEGIN IMMEDIATE``. Outbox
records (``claim``) and named runs (``hold``, in the ``leases`` table) follow the
one rule of :func:`is_free`.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

LEASE_S = 120.0  # longer than one send may take (timeouts and retries included)
HOST = socket.gethostname()


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill there would terminate the process: rely on the lease instead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def claim_is_dead(token: str | None) -> bool:
    """A claim of a process on this machine that no longer runs (its lease need not lapse)."""
    if not token:
        return False
    host, _, rest = token.partition("|")
    pid = rest.split("|", 1)[0]
    return host == HOST and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))


def new_token() -> str:
    """A claim token naming this host and process, unique per sender."""
    return f"{HOST}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def is_free(holder: str | None, until: float | None, now: float) -> bool:
    """The one rule: free when nobody holds it, the lease lapsed, or its holder died on this machine."""
    return holder is None or (until or 0) < now or claim_is_dead(holder)


def claim(conn: sqlite3.Connection, submission_id: str, token: str, lease: float) -> bool:
    """Claim one pending record for ``token`` (inside the caller's transaction); False if held or done."""
    now = time.time()
    row = conn.execute("SELECT claimed_by, claim_until FROM outbox WHERE submission_id = ? "
                       "AND status = 'pending'", (submission_id,)).fetchone()
    if row is None:
        return False
    if not is_free(row["claimed_by"], row["claim_until"], now):
        return False
    return conn.execute(
        "UPDATE outbox SET claimed_by = ?, claim_until = ?, attempts = attempts + 1, updated_at = ? "
        "WHERE submission_id = ? AND status = 'pending'",
        (token, now + lease, now, submission_id)).rowcount == 1


# -- leases: one holder per name (a named run), renewed while it works, released when done ----------------

_active: set[str] = set()  # lease tokens of this process still in use; others of this process were abandoned


def hold(conn: sqlite3.Connection, name: str, token: str, lease: float = LEASE_S) -> str | None:
    """Take the lease on ``name`` for ``token`` (inside the caller's transaction).

    Returns None when taken (or already ours), else the token of the live holder.
    A lease of this very process that no runner uses any more (its release failed,
    say on a full disk) is free too, so a notebook never waits on itself.
    """
    now = time.time()
    row = conn.execute("SELECT holder, held_until FROM leases WHERE name = ?", (name,)).fetchone()
    if row is not None and row["holder"] != token:
        holder = row["holder"]
        abandoned = holder.startswith(f"{HOST}|{os.getpid()}|") and holder not in _active
        if not (is_free(holder, row["held_until"], now) or abandoned):
            return holder
    conn.execute("INSERT OR REPLACE INTO leases (name, holder, held_until, since) VALUES (?, ?, ?, ?)",
                 (name, token, now + lease, now))
    _active.add(token)
    return None


def holds(conn: sqlite3.Connection, name: str, token: str, lease: float = LEASE_S) -> bool:
    """Whether ``token`` still holds ``name``; if so the lease is renewed (inside the caller's transaction)."""
    return conn.execute("UPDATE leases SET held_until = ? WHERE name = ? AND holder = ?",
                        (time.time() + lease, name, token)).rowcount == 1


def forget(token: str) -> None:
    """This runner holds nothing after all (its lease was rolled back with a refused transaction)."""
    _active.discard(token)


def release(conn: sqlite3.Connection, name: str, token: str) -> None:
    """Give the lease up (a lease held by someone else since is theirs and stays)."""
    _active.discard(token)
    conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, token))


def describe(token: str) -> str:
    """A holder in words, for an error line: 'process 1234 on this machine'."""
    host, _, rest = token.partition("|")
    pid = rest.split("|", 1)[0]
    if host == HOST:
        return "this notebook (another cell or thread)" if pid == str(os.getpid()) else f"process {pid} on this machine"
    return f"process {pid} on {host}"
