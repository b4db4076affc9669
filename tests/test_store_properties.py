"""A stateful property test of the store (issue 19): several processes on one run and one outbox, random SIGKILLs.

Hypothesis decides how many processes start, when each is killed (after k answers were served, or j scores
delivered: events, not moments on a clock) and when the rest may finish. Whatever it picks, once a last,
clean process has resumed the run and flushed the outbox, the sandbox's own record must show:

- every row recorded exactly once, with an answer the sandbox really served;
- every row sent exactly once when nobody was killed (two live processes never both send it), and otherwise
  at most the rows a killed process had in flight or not yet written (``2 x concurrency`` per kill);
- every score delivered, exactly once when nobody was killed, at most one extra delivery per kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

import orqmagic
from orqmagic.clients import OrqClient, RetryPolicy
from orqmagic.store.database import Store
from orqmagic.store.outbox import SUBMISSION_ID_KEY, Outbox

ROWS, SCORES, CONCURRENCY, LATENCY_MS = 16, 6, 3, 60
WORKER = """
import pandas as pd, orqmagic
from orqmagic.store.outbox import Outbox
frame = pd.DataFrame({"q": [f"TAG row {i}" for i in range(ROWS)]})
orqmagic.invoke_many("support-bot", frame, prompt="{{q}}", run="shared", wait=True, concurrency=CONCURRENCY,
                     progress=False)
Outbox().flush()
"""


def test_several_processes_and_random_kills_keep_every_row_and_score_exactly_once(sandbox_env, sandbox,
                                                                                   tmp_path_factory, monkeypatch):
    class StoreUnderFire(RuleBasedStateMachine):
        @initialize(processes=st.integers(1, 3))
        def fresh_store(self, processes: int) -> None:
            home = tmp_path_factory.mktemp("home")
            monkeypatch.setenv("ORQMAGIC_HOME", str(home))
            self.path = home / "orqmagic.sqlite3"
            self.tag = home.name
            self.workers: list[subprocess.Popen] = []
            self.kills = 0
            self.script = home / "worker.py"
            self.script.write_text(textwrap.dedent(WORKER).replace("TAG", self.tag).replace("ROWS", str(ROWS))
                                   .replace("CONCURRENCY", str(CONCURRENCY)))
            self.submissions = self._queue_scores()
            sandbox.set_faults(f"latency_ms={LATENCY_MS}")  # at most CONCURRENCY rows finish in a recorder group
            self.streams_mark = len(sandbox.streams())
            for _ in range(processes):  # started together: they race for the run and the outbox from the start
                self.start_a_process()

        def _queue_scores(self) -> list[str]:
            """SCORES scores kept pending in this store's outbox (their first send met a 503)."""
            answers = orqmagic.invoke_many("support-bot", pd.DataFrame({"q": [f"{self.tag} score {i}"
                                                                             for i in range(SCORES)]}),
                                           prompt="{{q}}", progress=False)
            sandbox.set_faults("status=503,match=/v2/deployments/")  # the metrics route (no streams now)
            self.metrics_mark = len(sandbox.received("orq.metrics"))
            with OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=RetryPolicy(attempts=1)) as client:
                box = Outbox(Store(self.path), orq=client)
                receipts = [box.submit(response_id, score=i) for i, response_id in enumerate(answers["id"])]
            sandbox.set_faults(None)
            assert [r.status for r in receipts] == ["queued"] * SCORES
            return [r.submission_id for r in receipts]

        def _live(self) -> list[subprocess.Popen]:
            return [w for w in self.workers if w.poll() is None]

        @rule()
        def start_a_process(self) -> None:
            if len(self._live()) < 3:
                self.workers.append(subprocess.Popen([sys.executable, str(self.script)], env=dict(os.environ),
                                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))

        @rule(count=st.integers(0, ROWS - 1), which=st.integers(0, 2))
        def kill_one_while_it_runs(self, count: int, which: int) -> None:
            """SIGKILL a live process once `count` answers were served (or when none is running any more)."""
            self._kill_when(lambda: len(sandbox.streams()) - self.streams_mark >= count, which)

        @rule(count=st.integers(0, SCORES - 1), which=st.integers(0, 2))
        def kill_one_while_it_flushes(self, count: int, which: int) -> None:
            """SIGKILL a live process once `count` scores were delivered (or when none is running any more)."""
            self._kill_when(lambda: self._deliveries_total() >= count, which)

        def _kill_when(self, reached, which: int) -> None:
            while self._live() and not reached():
                time.sleep(0.005)
            live = self._live()
            if live:
                victim = live[which % len(live)]
                victim.send_signal(signal.SIGKILL)
                victim.wait()  # reaped, as a notebook server reaps a dead kernel: its claims are free at once
                self.kills += 1

        def let_them_finish(self) -> None:
            for worker in self.workers:
                _, err = worker.communicate(timeout=120)
                assert worker.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]

        def _deliveries(self) -> Counter:
            bodies = [r["body"] for r in sandbox.received("orq.metrics")[self.metrics_mark:]]
            return Counter(b.get("metadata", {}).get(SUBMISSION_ID_KEY) for b in bodies)

        def _deliveries_total(self) -> int:
            return sum(self._deliveries().values())

        def teardown(self) -> None:
            self.let_them_finish()
            frame = pd.DataFrame({"q": [f"{self.tag} row {i}" for i in range(ROWS)]})
            final = orqmagic.invoke_many("support-bot", frame, prompt="{{q}}", run="shared", wait=True,
                                         concurrency=CONCURRENCY, progress=False)
            box = Outbox(Store(self.path))
            box.flush()
            sandbox.set_faults(None)

            served = [s["id"] for s in sandbox.streams()[self.streams_mark:]]
            assert len(final) == ROWS and final["error"].isna().all() and final["id"].is_unique
            store = Store(self.path)
            recorded = store.connection().execute("SELECT row, COUNT(*) AS n FROM run_rows WHERE run = 'shared' "
                                                  "GROUP BY row").fetchall()
            assert sorted((r["row"], r["n"]) for r in recorded) == [(i, 1) for i in range(ROWS)]
            assert set(final["id"]) <= set(served)  # every recorded answer is one the sandbox served
            extra_rows = len(served) - ROWS
            assert 0 <= extra_rows <= self.kills * 2 * CONCURRENCY, (extra_rows, self.kills)

            deliveries = self._deliveries()
            assert set(deliveries) == set(self.submissions)  # every score arrived
            extra_scores = sum(deliveries.values()) - SCORES
            assert 0 <= extra_scores <= self.kills, (deliveries, self.kills)
            assert [r["status"] for r in box.records()] == ["sent"] * SCORES
            store.close()
            print(f"processes {len(self.workers)}, kills {self.kills}: {len(served)} requests for {ROWS} rows, "
                  f"{sum(deliveries.values())} deliveries of {SCORES} scores")

    run_state_machine_as_test(StoreUnderFire, settings=settings(
        max_examples=6, stateful_step_count=5, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
