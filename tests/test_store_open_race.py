"""Several processes opening one *new* store at the same instant (found by CI, a class of its own).

A new file is switched to WAL on first open, which takes an exclusive lock. SQLite
answers some lock orders with "database is locked" at once instead of waiting
(waiting could deadlock), and a loser may find the rollback journal it meant to
delete already gone. Worse, SQLite deletes the write-ahead log of a database whose
file has no pages yet, so a process opening the new file could silently wipe what
the first had written: that lost writes, with every process reporting success.
Hypothesis picks how many processes and threads race, over ROUNDS new files each,
missing or already there but empty; every one of them must open each store and
keep what it wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orqmagic.store.outbox import Outbox

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 12

OPENER = r"""
import os, sys, threading, time, traceback
home, gate, threads, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
from orqmagic.store.database import Store
from orqmagic.store.outbox import enqueue
while not os.path.exists(gate):  # every process is loaded and waiting: they open together
    time.sleep(0.0005)
failures = []
def work(n):
    try:
        for r in range(rounds):  # racers keep pace, so each new file is opened by all of them at once
            store = Store(f"{home}/store-{r}.sqlite3")  # a handle per thread, as separate notebooks' would be
            with store.transaction() as conn:
                enqueue(conn, f"resp-{os.getpid()}-{n}", score=n)
    except BaseException:
        failures.append(traceback.format_exc())
pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
if failures:
    sys.exit(failures[0])
"""


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(processes=st.integers(2, 6), threads=st.integers(1, 4), empty=st.booleans())
def test_processes_opening_a_new_store_together_all_open_it_and_keep_their_writes(tmp_path_factory, processes,
                                                                                  threads, empty):
    home = tmp_path_factory.mktemp("race")
    gate = home / "gate"
    if empty:  # an empty file already there, as an older release or a killed first open leaves it
        for r in range(ROUNDS):
            (home / f"store-{r}.sqlite3").touch(mode=0o600)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "HOME": str(home)}
    workers = [subprocess.Popen([sys.executable, "-c", OPENER, str(home), str(gate), str(threads), str(ROUNDS)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    gate.touch()
    errors = [w.communicate(timeout=120)[1] for w in workers]
    assert [w.returncode for w in workers] == [0] * processes, "\n".join(e[-3000:] for e in errors if e)
    for r in range(ROUNDS):
        assert len(Outbox(home / f"store-{r}.sqlite3").pending()) == processes * threads
    assert not [p.name for p in home.iterdir() if p.name.endswith(".new")]  # no set-up file left behind
