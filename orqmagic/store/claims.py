"""Who may send an outbox record: claim tokens, leases, and claims of processes that died.

A claim names its host and process, so a claim of a process that died on this
machine is free at once; a claim made elsewhere lapses with its lease. Claiming
is one check-and-update, run by the caller inside ``BEGIN IMMEDIATE``.
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


def claim(conn: sqlite3.Connection, submission_id: str, token: str, lease: float) -> bool:
    """Claim one pending record for ``token`` (inside the caller's transaction); False if held or done."""
    now = time.time()
    row = conn.execute("SELECT claimed_by, claim_until FROM outbox WHERE submission_id = ? "
                       "AND status = 'pending'", (submission_id,)).fetchone()
    if row is None:
        return False
    free = row["claimed_by"] is None or (row["claim_until"] or 0) < now or claim_is_dead(row["claimed_by"])
    if not free:
        return False
    return conn.execute(
        "UPDATE outbox SET claimed_by = ?, claim_until = ?, attempts = attempts + 1, updated_at = ? "
        "WHERE submission_id = ? AND status = 'pending'",
        (token, now + lease, now, submission_id)).rowcount == 1
