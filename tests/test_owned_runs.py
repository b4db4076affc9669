"""Issue 19: runs are owned, received answers are never dropped, and a batch or comparison never ends short.

Everything is counted where it matters: the sandbox's record of the streams it served (each has the
response id the client recorded), so "sent once" means one stream per recorded row, no more.
"""

from __future__ import annotations

import _thread
import json
import os
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import RunBusyError
from orqmagic.clients import AsyncOrqClient
from orqmagic.errors import OrqMagicWarning
from orqmagic.evaluation.progress import Progress
from orqmagic.magics.errors import CellInterrupted
from orqmagic.store import Store, StoreError, default_store
from orqmagic.store.runs import Run

STREAM = "/v2/deployments/stream"


def rows(n: int, tag: str = "question") -> pd.DataFrame:
    return pd.DataFrame({"q": [f"{tag} {i}" for i in range(n)]})


def child(tmp_path, source: str) -> subprocess.Popen:
    script = tmp_path / f"child-{time.monotonic_ns()}.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.Popen([sys.executable, str(script)], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err[-3000:]
    return out


def wait_for_lease(name: str, process: subprocess.Popen) -> None:
    """The event: the other process holds the run (its lease is in the store)."""
    store = Store(default_store().path)
    try:
        while process.poll() is None:
            try:
                if store.connection().execute("SELECT 1 FROM leases WHERE name = ?", (f"run:{name}",)).fetchone():
                    return
            except StoreError:
                pass  # not created yet
            time.sleep(0.01)
    finally:
        store.close()
    raise AssertionError(f"the other process ended before it held the run: {process.communicate()}")


HOLDER = """
import json, os, time, pandas as pd, orqmagic
from orqmagic.store.runs import Run
if os.environ.get("GATE"):  # hold the run, after the first recorded rows, until the test opens the gate
    record_many = Run.record_many

    def record_then_wait(self, items):
        record_many(self, items)
        while not os.path.exists(os.environ["GATE"]):
            time.sleep(0.01)

    Run.record_many = record_then_wait
frame = pd.DataFrame({"q": [f"shared {i}" for i in range(40)]})
out = orqmagic.invoke_many("support-bot", frame, prompt="{{q}}", run="shared", concurrency=2, progress=False,
                           wait=WAIT)
print(json.dumps({"sent": int(out.attrs["sent"]), "resumed": int(out.attrs["resumed"]),
                  "ids": sorted(out["id"].tolist())}))
"""


# -- 1. runs are owned ---------------------------------------------------------------------------


def test_two_processes_on_one_run_send_every_row_exactly_once(sandbox_env, sandbox, tmp_path):
    """Both started at once with wait=True: one runs the 40 rows, the other waits, then finds them all recorded."""
    sandbox.set_faults("latency_ms=40")
    mark = len(sandbox.streams())
    first, second = (child(tmp_path, HOLDER.replace("WAIT", "True")) for _ in range(2))
    reports = sorted((json.loads(finish(p).splitlines()[-1]) for p in (first, second)), key=lambda r: r["sent"])
    served = sandbox.streams()[mark:]
    assert len(served) == 40  # requests per row: 1.0
    assert [r["sent"] for r in reports] == [0, 40] and reports[0]["resumed"] == 40
    assert sorted(s["id"] for s in served) == reports[1]["ids"] == reports[0]["ids"]  # one stream per row, the same answers


def test_a_second_runner_gets_one_typed_line_and_sends_nothing(sandbox_env, sandbox, tmp_path, monkeypatch):
    gate = tmp_path / "gate"
    monkeypatch.setenv("GATE", str(gate))
    mark = len(sandbox.streams())
    holder = child(tmp_path, HOLDER.replace("WAIT", "False"))
    try:
        wait_for_lease("shared", holder)  # and it stays held until the gate opens: no race with the clock
        for overwrite in (False, True):  # overwrite=True on a run another process fills is refused too
            with pytest.raises(RunBusyError) as caught:
                orqmagic.invoke_many("support-bot", rows(40, "shared"), prompt="{{q}}", run="shared",
                                     overwrite=overwrite, progress=False)
            message = str(caught.value)
            assert "\n" not in message and f"process {holder.pid} on this machine" in message
            assert "nothing was sent" in message and caught.value.run == "shared"
        gate.touch()
        # wait=True waits for the holder to finish, then finds every row recorded
        again = orqmagic.invoke_many("support-bot", rows(40, "shared"), prompt="{{q}}", run="shared", wait=True,
                                     progress=False)
        report = json.loads(finish(holder).splitlines()[-1])
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert report["sent"] == 40 and again.attrs["sent"] == 0 and again.attrs["resumed"] == 40
    assert len(sandbox.streams()) - mark == 40  # all of them the holder's: the refused and the waiting runner sent none
    assert sorted(again["id"]) == report["ids"]


def test_the_run_is_free_again_when_the_call_ends_even_on_an_error(sandbox_env, sandbox):
    orqmagic.invoke_many("support-bot", rows(3), prompt="{{q}}", run="free", progress=False)
    with pytest.raises(orqmagic.ValidationError):  # refused for another prompt: the lease is given back too
        orqmagic.invoke_many("support-bot", rows(3), prompt="Explain {{q}}", run="free", progress=False)
    assert default_store().connection().execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    again = orqmagic.invoke_many("support-bot", rows(3), prompt="{{q}}", run="free", progress=False)
    assert again.attrs["resumed"] == 3


FULL_DISK = """
import json, resource, signal, warnings
import pandas as pd, orqmagic
from orqmagic.store import default_store

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
frame = pd.DataFrame({"q": [f"disk {i}" for i in range(ROWS)]})
store = default_store()
store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")  # migrated, and every write from now on is new
resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, resource.RLIM_INFINITY))  # from here on the disk fills up
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        out = orqmagic.invoke_many("support-bot", frame, prompt="{{q}}", run="disk", concurrency=16, progress=False)
        report = {"returned": len(out), "answered": int(out["text"].notna().sum()),
                  "errors": int(out["error"].notna().sum()), "unrecorded": int(out.attrs["unrecorded"])}
    except orqmagic.OrqMagicError as exc:
        report = {"refused": type(exc).__name__ + ": " + str(exc)}
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
report["warnings"] = [str(w.message) for w in caught if issubclass(w.category, orqmagic.errors.OrqMagicWarning)]
report["recorded"] = default_store().connection().execute(
    "SELECT COUNT(*) FROM run_rows WHERE run = 'disk'").fetchone()[0]
print(json.dumps(report))
"""


def test_a_full_disk_costs_the_record_never_the_answers(sandbox_env, sandbox, tmp_path):
    """600 answers on a store that fills up part-way: all 600 come back, one warning says how many were not kept."""
    mark = len(sandbox.streams())
    report = json.loads(finish(child(tmp_path, FULL_DISK.replace("ROWS", "600").replace("FSIZE_LIMIT", "100_000")))
                        .splitlines()[-1])
    assert "refused" not in report, report
    assert report["returned"] == report["answered"] == 600 and report["errors"] == 0
    assert len(sandbox.streams()) - mark == 600
    assert 0 < report["unrecorded"] <= 600 and report["recorded"] == 600 - report["unrecorded"]
    assert len(report["warnings"]) == 1
    warning = report["warnings"][0]
    assert f"{report['unrecorded']:,} of 600 answers were not recorded in run 'disk'" in warning
    assert "full" in warning or "disk" in warning
    print(f"full disk: 600 of 600 answers returned, {report['recorded']} recorded; {warning}")


def test_opening_a_run_on_a_full_disk_is_one_line_and_nothing_is_sent(sandbox_env, sandbox, tmp_path):
    mark = len(sandbox.streams())
    report = json.loads(finish(child(tmp_path, FULL_DISK.replace("ROWS", "20").replace("FSIZE_LIMIT", "1")))
                        .splitlines()[-1])
    assert report.get("refused", "").startswith("StoreError: run 'disk' cannot be opened, so nothing was sent"), report
    assert "\n" not in report["refused"] and ("full" in report["refused"] or "disk I/O" in report["refused"])
    assert len(sandbox.streams()) - mark == 0 and report["recorded"] == 0


# -- 2. a batch or comparison never ends short -----------------------------------------------------


class OneBadRow(AsyncOrqClient):
    """The real client, except that the row asking BAD raises what no client error would: a bug, say."""

    BAD = "question 3"

    def stream(self, key, **fields):
        if self.BAD in json.dumps(fields.get("messages")):
            return self._boom()
        return super().stream(key, **fields)

    async def _boom(self):
        raise RuntimeError("a bug in one row")
        yield  # an async generator, like stream()


def test_a_row_that_raises_anything_is_that_rows_error_and_the_others_go_on(sandbox_env, sandbox):
    mark = len(sandbox.streams())
    client = OneBadRow(base_url=sandbox.url, api_key=sandbox.key)
    out = orqmagic.invoke_many("support-bot", rows(20), prompt="{{q}}", concurrency=4, orq=client, progress=False)
    assert len(out) == 20 and out.attrs["interrupted"] is False
    assert out.loc[3, "error"] == "RuntimeError: a bug in one row" and pd.isna(out.loc[3, "text"])
    assert out.drop(index=3)["error"].isna().all() and out.drop(index=3)["text"].notna().all()
    assert len(sandbox.streams()) - mark == 19


class BreaksMidStream(AsyncOrqClient):
    """Column 'summarizer' gets two real chunks, then a chunk shape that makes the client raise a plain error."""

    async def stream(self, key, **fields):
        count = 0
        async for chunk in super().stream(key, **fields):
            yield chunk
            count += 1
            if key == "summarizer" and count == 2:
                raise ValueError("a chunk of the wrong shape")


def test_the_column_that_failed_is_blamed_and_the_other_keeps_its_answer(sandbox_env, sandbox):
    client = BreaksMidStream(base_url=sandbox.url, api_key=sandbox.key)
    comparison = orqmagic.compare(["support-bot", "summarizer"], "How do I rotate my API key?", orq=client,
                                  display=False)
    good, bad = comparison["support-bot"], comparison["summarizer"]
    assert good.complete and good.error is None and good.text
    assert bad.error == "ValueError: a chunk of the wrong shape" and not bad.complete and bad.text  # partial kept
    assert comparison.summary()["failed"] == ["summarizer"]


def interrupt_after_first_row(monkeypatch, sandbox) -> None:
    """Ctrl-C the moment the first row is done; streams started after it hang until cancelled."""
    update = Progress.update

    def first_row_done_then_ctrl_c(self, *args, **kwargs):
        update(self, *args, **kwargs)
        if self.done == 1:
            sandbox.set_faults("first_byte_ms=600000")
            _thread.interrupt_main()

    monkeypatch.setattr(Progress, "update", first_row_done_then_ctrl_c)


def test_ctrl_c_stops_a_cell_that_loops_over_three_batches_at_the_first(sandbox_env, sandbox, monkeypatch):
    interrupt_after_first_row(monkeypatch, sandbox)
    mark = len(sandbox.streams())
    done = []
    with pytest.raises(KeyboardInterrupt):
        for batch in range(3):  # what a notebook cell does
            done.append(orqmagic.invoke_many("support-bot", rows(10, f"batch {batch}"), prompt="{{q}}",
                                             concurrency=2, run=f"loop-{batch}", progress=False))
    assert done == []  # the first call raised: the second and third never started
    kept = orqmagic.last_result()
    assert kept.attrs["interrupted"] and kept.attrs["run"] == "loop-0" and 1 <= len(kept) <= 2
    assert len(sandbox.streams()) - mark <= 2 + 2  # the finished rows and those in flight at the Ctrl-C: batch 0 only
    recorded = Run("loop-0", default_store()).recorded()
    assert sorted(r for r, _ in recorded) == sorted(kept.index)  # and they are recorded
    assert default_store().connection().execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_an_interrupted_over_cell_prints_one_line_and_keeps_the_rows(ip, sandbox, monkeypatch):
    interrupt_after_first_row(monkeypatch, sandbox)
    ip.user_ns["cases"] = rows(40)
    result = ip.run_cell("%%invoke support-bot --over cases --concurrency 2 -o res\n{{q}}")
    error = result.error_in_exec
    assert isinstance(error, CellInterrupted)
    lines = error._render_traceback_()
    kept = ip.user_ns["res"]
    assert len(lines) == 1 and lines[0] == f"\x1b[31minterrupted: {len(kept)} of 40 rows finished, kept in res\x1b[0m"
    assert ip.user_ns["_"] is kept and 1 <= len(kept) <= 2 and kept["text"].notna().all()


def test_trials_zero_in_the_magic_is_refused_and_nothing_is_sent(ip, sandbox):
    from IPython.core.error import UsageError

    ip.user_ns["cases"] = rows(3)
    mark = len(sandbox.requests())
    with pytest.raises(UsageError, match="trials must be a whole number >= 1, got 0"):
        ip.run_cell_magic("invoke", "support-bot --over cases --trials 0", "{{q}}")
    with pytest.raises(UsageError, match="go with --over"):
        ip.run_cell_magic("invoke", "support-bot --trials 0", "hello")
    assert sandbox.requests()[mark:] == []


def test_retry_failed_resends_only_passing_failures_unless_asked_for_all(sandbox_env, sandbox):
    questions = rows(6)
    sandbox.set_faults(f"status=400,every=2,match={STREAM}")  # a permanent refusal for every second row
    first = orqmagic.invoke_many("support-bot", questions, prompt="{{q}}", concurrency=1, run="perm", progress=False)
    assert first["error"].notna().sum() == 3
    sandbox.set_faults(None)
    mark = len(sandbox.streams())
    again = orqmagic.invoke_many("support-bot", questions, prompt="{{q}}", run="perm", retry_failed=True,
                                 progress=False)
    assert len(sandbox.streams()) == mark and again["error"].notna().sum() == 3  # a 400 is not sent again
    every = orqmagic.invoke_many("support-bot", questions, prompt="{{q}}", run="perm", retry_failed="all",
                                 progress=False)
    assert len(sandbox.streams()) - mark == 3 and every["error"].isna().all()
    with pytest.raises(orqmagic.ValidationError, match="retry_failed must be True"):
        orqmagic.invoke_many("support-bot", questions, prompt="{{q}}", run="perm", retry_failed="yes")


def test_warnings_are_one_line(sandbox_env):
    with pytest.warns(OrqMagicWarning) as caught:
        orqmagic.errors.warn("two\nlines   here")
    assert str(caught[0].message) == "two lines here"


# -- the lease rules, as a class: who may take a run from whom ---------------------------------------


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


@settings(max_examples=80, deadline=None)
@given(host=st.sampled_from(["here", "elsewhere"]), who=st.sampled_from(["me-active", "me-abandoned", "dead", "alive"]),
       lapse=st.sampled_from([-5.0, 60.0]))
def test_a_lease_is_taken_exactly_when_its_holder_cannot_be_running_it(tmp_path_factory, host, who, lapse):
    """Free: lapsed, or held on this machine by a dead process or by this process's abandoned runner. Else busy."""
    from orqmagic.store import claims

    store = Store(tmp_path_factory.mktemp("lease") / "s.sqlite3")
    pid = {"me-active": os.getpid(), "me-abandoned": os.getpid(), "dead": _dead_pid(), "alive": os.getppid()}[who]
    holder = f"{claims.HOST if host == 'here' else 'elsewhere.example'}|{pid}|{os.urandom(4).hex()}"
    if who == "me-active":
        claims._active.add(holder)
    now = time.time()
    store.connection().execute("INSERT INTO leases (name, holder, held_until, since) VALUES ('run:x', ?, ?, ?)",
                               (holder, now + lapse, now))
    mine = claims.new_token()
    with store.transaction() as conn:
        busy = claims.hold(conn, "run:x", mine)
    free = lapse < 0 or (host == "here" and who in ("dead", "me-abandoned"))
    assert (busy is None) == free and (busy in (None, holder))
    held_by = store.connection().execute("SELECT holder FROM leases WHERE name = 'run:x'").fetchone()["holder"]
    assert held_by == (mine if free else holder)
    claims.forget(mine)
    claims.forget(holder)
    store.close()


def test_a_busy_run_in_the_magic_is_one_line_and_nothing_is_sent(ip, sandbox):
    from orqmagic.magics.errors import CellError
    from orqmagic.store import claims

    holder = f"{claims.HOST}|{os.getppid()}|cafe"  # a live process on this machine (the one that started us)
    now = time.time()
    default_store().connection().execute("INSERT INTO leases (name, holder, held_until, since) VALUES (?, ?, ?, ?)",
                                         ("run:busy", holder, now + 60, now))
    ip.user_ns["cases"] = rows(3)
    mark = len(sandbox.requests())
    result = ip.run_cell("%%invoke support-bot --over cases --run busy\n{{q}}")
    assert isinstance(result.error_in_exec, CellError)
    lines = result.error_in_exec._render_traceback_()
    assert f"run 'busy' is being run by process {os.getppid()} on this machine" in " ".join(lines)
    assert sandbox.requests()[mark:] == []
