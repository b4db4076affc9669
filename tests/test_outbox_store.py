"""The outbox on the local store: several processes and threads, a sender killed mid-flush, and damaged files.

Deliveries are counted by submission id in the sandbox, so "exactly once" is
what the server saw, not what our bookkeeping believes.
"""

import collections
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import orqmagic
from orqmagic.clients import OrqClient, RetryPolicy
from orqmagic.magics.errors import CellError
from orqmagic.store.database import StoreError
from orqmagic.store.outbox import SUBMISSION_ID_KEY, Outbox

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import sys, threading, traceback
from orqmagic.store.outbox import Outbox, default_outbox

transaction_id, per_thread = sys.argv[1], int(sys.argv[2])
lines, lock = [], threading.Lock()

failures = []

def work(n):
    try:
        box = default_outbox() if n == 0 else Outbox()  # the shared outbox and separate Outbox objects, one store
        for i in range(per_thread):
            receipt = box.submit(transaction_id, score=i % 101)
            with lock:
                lines.append(f"{receipt.submission_id} {receipt.status}")
        box.flush()  # flushers race each other and the background retries
    except BaseException:
        failures.append(traceback.format_exc())  # a dead thread must fail the test with its reason, not vanish

threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(lines))
if failures:
    sys.exit("\n".join(failures))
"""


def child_env(sandbox, home: Path, url: str | None = None) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "ORQMAGIC_HOME": str(home),
            "ORQ_BASE_URL": url or sandbox.url, "ORQ_API_KEY": sandbox.key, "HOME": str(home)}


def deliveries(sandbox, transaction_id: str) -> collections.Counter:
    return collections.Counter(r["body"]["metadata"][SUBMISSION_ID_KEY] for r in sandbox.received("orq.metrics")
                               if r["transaction_id"] == transaction_id)


@pytest.fixture
def answer_id(sandbox_env):
    return orqmagic.invoke("support-bot", "concurrency", display=False).id


def test_two_processes_three_threads_each_deliver_every_submission_exactly_once(sandbox, answer_id, tmp_path):
    home, per_thread = tmp_path / "shared-home", 40
    sandbox.set_faults(f"status=503,every=2,match=/v2/deployments/{answer_id}")
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, answer_id, str(per_thread)], env=child_env(sandbox, home),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]
    submitted = [line.split()[0] for out, _ in outputs for line in out.splitlines()]
    assert len(submitted) == len(set(submitted)) == 2 * 3 * per_thread
    sandbox.set_faults(None)
    # The third process flushes; a send that fails transiently (a timeout on a starved machine) stays pending and
    # is flushed again, as `%orq flush` would be: what counts is that every submission arrives exactly once.
    flush = subprocess.run([sys.executable, "-c", "from orqmagic.store.outbox import Outbox\nfor _ in range(5):\n"
                            "    r = Outbox().flush()\n    if not r.pending:\n        break\n"
                            "print(len(r.pending), len(r.rejected), r.last_error)"],
                           env=child_env(sandbox, home), capture_output=True, text=True, timeout=600, check=True)
    assert flush.stdout.split()[:2] == ["0", "0"], flush.stdout
    counts = deliveries(sandbox, answer_id)
    lost = [s for s in submitted if counts[s] == 0]
    duplicated = [s for s in submitted if counts[s] > 1]
    assert (lost, duplicated) == ([], []), f"{len(lost)} lost, {len(duplicated)} delivered twice"
    assert set(counts) == set(submitted)
    assert Outbox(home / "orqmagic.sqlite3").pending() == []


def test_sender_killed_mid_flush_loses_nothing_and_resends_at_most_the_one_in_flight(sandbox, answer_id, tmp_path):
    home = tmp_path / "kill-home"
    store = home / "orqmagic.sqlite3"
    home.mkdir()
    offline = Outbox(store, orq=OrqClient(base_url="http://127.0.0.1:9", api_key=sandbox.key, retry=RetryPolicy(attempts=1)))
    queued = [offline.submit(answer_id, score=s).submission_id for s in range(5)]
    assert len(offline.pending()) == 5
    sandbox.set_faults(f"latency_ms=3000,match=/v2/deployments/{answer_id}")  # the first send hangs in the server
    child = subprocess.Popen([sys.executable, "-c", "from orqmagic.store.outbox import Outbox\nOutbox().flush()"],
                             env=child_env(sandbox, home))
    deadline = time.monotonic() + 60
    while not (sandbox.in_flight() and [r for r in Outbox(store).pending() if r["claimed"]]):  # the event: one claimed and in the server
        assert child.poll() is None and time.monotonic() < deadline, "the child never started sending"
        time.sleep(0.01)
    in_flight = [r["id"] for r in Outbox(store).pending() if r["claimed"]]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    sandbox.set_faults(None)
    while sandbox.in_flight():  # the server finishes applying the request the dead sender was waiting on
        assert time.monotonic() < deadline + 60
        time.sleep(0.01)
    report = Outbox(store).flush()  # the dead process's claim is free at once: no lease to wait out
    assert sorted(report.sent) == sorted(queued) and Outbox(store).pending() == []
    counts = deliveries(sandbox, answer_id)
    assert len(in_flight) == 1
    assert all(counts[s] == 1 for s in queued if s not in in_flight)
    assert counts[in_flight[0]] in (1, 2)  # twice only if the server applied it before the sender died


# -- damage: each leaves new feedback working -------------------------------------------------

GOOD_ADD = '{"op":"add","id":"a","transaction_id":"%s","body":{"feedback":{"score":1},"metadata":{"orqmagic_submission_id":"a"}}}'


def old_outbox(monkeypatch, tmp_path, content: bytes | None, *, directory: bool = False) -> Path:
    path = tmp_path / "old-outbox.jsonl"
    if directory:
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("ORQMAGIC_OUTBOX", str(path))
    return path


def new_feedback_is_sent(sandbox, answer_id: str) -> orqmagic.store.outbox.Receipt:
    receipt = orqmagic.add_metrics(answer_id, score=42)
    assert receipt.status == "sent"
    assert deliveries(sandbox, answer_id)[receipt.submission_id] == 1
    return receipt


def test_torn_line_that_swallowed_a_done_record_does_not_resend_it(sandbox, answer_id, tmp_path, monkeypatch):
    torn = (GOOD_ADD % answer_id) + '\n{"op":"add","id"' + '{"op":"done","id":"a","status":"sent"}\n'
    old_outbox(monkeypatch, tmp_path, torn.encode())
    new_feedback_is_sent(sandbox, answer_id)
    box = orqmagic.store.outbox.default_outbox()
    assert box.pending() == [] and [r["status"] for r in box.records() if r["id"] == "a"] == ["sent"]
    assert len(box.records("damaged")) == 1 and "torn" in box.records("damaged")[0]["error"]
    assert deliveries(sandbox, answer_id)["a"] == 0


@pytest.mark.parametrize("bad", [b'{"op":"add","id":5}', b"[1, 2, 3]", b'{"op":"add","id":"b","transaction_id":"t","body":"x"}',
                                 b'{"op":"frobnicate"}', b"\xff\xfe not utf-8 \xc3\x28", b"null"])
def test_bad_records_are_set_aside_and_good_ones_kept(sandbox, answer_id, tmp_path, monkeypatch, bad):
    path = old_outbox(monkeypatch, tmp_path, (GOOD_ADD % answer_id).encode() + b"\n" + bad + b"\n")
    new_feedback_is_sent(sandbox, answer_id)
    box = orqmagic.store.outbox.default_outbox()
    assert box.wait(timeout=30)  # the old pending record goes in the background after the send
    assert deliveries(sandbox, answer_id)["a"] == 1
    assert len(box.records("damaged")) == 1 and box.pending() == []
    assert not path.exists() and path.with_name(path.name + ".imported").exists()


def test_old_outbox_that_is_a_directory_is_left_alone(sandbox, answer_id, tmp_path, monkeypatch):
    old_outbox(monkeypatch, tmp_path, None, directory=True)
    new_feedback_is_sent(sandbox, answer_id)
    assert "is a folder" in orqmagic.store.outbox.default_outbox().import_note


def test_damaged_record_in_the_store_is_set_aside_on_flush(sandbox, answer_id, tmp_path):
    box = Outbox(tmp_path / "s.sqlite3")
    with box.store.transaction() as conn:
        conn.execute("INSERT INTO outbox (submission_id, transaction_id, body, created_at, updated_at) VALUES ('x', ?, '{oops', 0, 0)",
                     (answer_id,))
        conn.execute("INSERT INTO outbox (submission_id, transaction_id, body, created_at, updated_at) VALUES ('y', ?, '{\"feedback\": 5}', 0, 0)",
                     (answer_id,))
    report = box.flush()
    assert sorted(report.damaged) == ["x", "y"] and report.sent == []
    assert box.submit(answer_id, score=7).status == "sent"


def broken_store(kind: str, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "broken-home"
    if kind == "garbage file":
        home.mkdir()
        (home / "orqmagic.sqlite3").write_bytes(b"this is not a database\x00" * 100)
    elif kind == "directory":
        (home / "orqmagic.sqlite3").mkdir(parents=True)
    elif kind == "unwritable place":
        home = Path("/proc/orqmagic-cannot-write-here")  # even root cannot create a folder in /proc
    monkeypatch.setenv("ORQMAGIC_HOME", str(home))


@pytest.mark.parametrize("kind", ["garbage file", "directory", "unwritable place"])
def test_unusable_store_still_sends_and_says_what_to_do(sandbox, answer_id, tmp_path, monkeypatch, kind):
    broken_store(kind, tmp_path, monkeypatch)
    receipt = new_feedback_is_sent(sandbox, answer_id)
    assert "not recorded" in receipt.note and "ORQMAGIC_HOME" in receipt.note and "\n" not in receipt.note


def test_feedback_panel_says_when_a_sent_score_was_not_recorded(sandbox, answer_id, tmp_path, monkeypatch):
    broken_store("garbage file", tmp_path, monkeypatch)
    panel = orqmagic.FeedbackPanel(answer_id)
    panel.score.value = 64
    receipt = panel.send()
    assert receipt.status == "sent" and deliveries(sandbox, answer_id)[receipt.submission_id] == 1
    assert "sent (score 64), but" in panel.status.value and "not recorded" in panel.status.value


@pytest.mark.parametrize("kind", ["garbage file", "directory", "unwritable place"])
def test_unusable_store_and_failed_send_give_one_line(sandbox, answer_id, tmp_path, monkeypatch, kind):
    broken_store(kind, tmp_path, monkeypatch)
    sandbox.set_faults(f"status=503,match=/v2/deployments/{answer_id}")
    with pytest.raises(StoreError) as info:
        orqmagic.add_metrics(answer_id, score=3)
    text = str(info.value)
    assert "\n" not in text and "was not sent" in text and "could not be kept" in text and "ORQMAGIC_HOME" in text


def test_flush_magic_on_an_unusable_store_is_one_line(ip, tmp_path, monkeypatch):
    broken_store("garbage file", tmp_path, monkeypatch)
    with pytest.raises(CellError) as info:  # shown as one line in the cell, no traceback
        ip.run_line_magic("orq", "flush")
    assert "\n" not in str(info.value).strip() and "cannot be used" in str(info.value)


def test_old_outbox_imported_once_even_when_two_outboxes_race(sandbox, answer_id, tmp_path):
    path = tmp_path / "race.jsonl"
    path.write_text("\n".join(json.dumps({"op": "add", "id": f"id{i}", "transaction_id": answer_id,
                                          "body": {"feedback": {"score": i}, "metadata": {SUBMISSION_ID_KEY: f"id{i}"}}})
                              for i in range(5)) + "\n")
    copy = path.read_bytes()
    first = Outbox(path)
    assert len(first.pending()) == 5
    path.write_bytes(copy)  # as if a crash came between the import and the rename: importing again adds nothing
    assert len(Outbox(path).pending()) == 5
    assert len(first.flush().sent) == 5
    assert sqlite3.connect(first.path).execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 5


def test_new_score_does_not_wait_for_old_pending_ones(sandbox, answer_id, tmp_path):
    box = Outbox(tmp_path / "w.sqlite3", orq=OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=RetryPolicy(attempts=1)))
    sandbox.set_faults(f"status=503,match=/v2/deployments/{answer_id}")
    for score in range(20):
        assert box.submit(answer_id, score=score).status == "queued"
    mark = len(sandbox.received("orq.metrics"))
    sandbox.set_faults(None)
    new = box.submit(answer_id, score=99)
    assert new.status == "sent"
    # the first delivery after the outage is the new score: it did not queue behind the 20 old ones
    assert sandbox.received("orq.metrics")[mark]["body"]["metadata"][SUBMISSION_ID_KEY] == new.submission_id
    assert box.wait(timeout=60) and box.pending() == []
    assert len(sandbox.received("orq.metrics")) - mark == 21


def test_orq_store_magic_says_where_the_store_is_and_what_it_holds(ip, sandbox):
    answer_id = orqmagic.invoke("support-bot", "store", display=False).id
    sandbox.set_faults(f"status=503,match=/v2/deployments/{answer_id}")
    assert orqmagic.add_metrics(answer_id, score=1).status == "queued"
    notice = ip.run_line_magic("orq", "store")
    text = repr(notice)
    assert str(orqmagic.store.outbox.default_outbox().path) in text and "outbox: 1" in text and "pending 1" in text
