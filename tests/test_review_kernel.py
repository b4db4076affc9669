"""The review queue in real kernels, driven at the comm layer exactly as a front end drives it.

Keystrokes are state updates of the key box's model; the test watches iopub for
the header update that shows the next case and, at that moment, reads the
store from outside the kernel: the score must already be there.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest

from tests.widget_comm import KernelWidgets

pytestmark = pytest.mark.timeout(300)

SETUP = """
import pandas as pd, orqmagic
from orqmagic.clients import OrqClient
from orqmagic.config import resolve
cases = pd.DataFrame({{"question": [f"question {{i}}" for i in range({n})]}})
results = orqmagic.invoke_many("support-bot", cases, prompt="Answer {{{{question}}}}", progress=False, run="answers")
queue = orqmagic.review(results, name={name!r}, metric={{"name": "Helpfulness", "judgePrompt": "5 = solves it"}})
queue
"""


def store_rows(home: Path, queue: str) -> dict[int, int | None]:
    with sqlite3.connect(home / "orqmagic.sqlite3") as conn:
        rows = conn.execute("SELECT case_key, score FROM reviews WHERE queue = ?", (queue,)).fetchall()
    return {int(case): None if score is None else int(score) for case, score in rows}


def header_shows(kw: KernelWidgets, header: str, text: str):
    def check(msg) -> bool:
        content = msg["content"]
        return (msg["msg_type"] == "comm_msg" and content["comm_id"] == header
                and text in (content["data"].get("state") or {}).get("value", ""))
    return check


def position(kw: KernelWidgets, header: str) -> str:
    return re.sub("<[^>]+>", "", kw.state(header)["value"])


def test_each_key_lands_in_the_store_before_the_next_case_shows(sandbox_env):
    home = Path(__import__("os").environ["ORQMAGIC_HOME"])
    with KernelWidgets() as kw:
        kw.execute(SETUP.format(n=8, name="kernel-keys"))
        keybox, header = kw.find("orqmagic-keybox"), kw.find("orqmagic-review-header")
        assert "1 of 8 · 0 scored" in position(kw, header)
        for i, key in enumerate("45312"):
            kw.type_key(keybox, key)
            kw.wait_for(header_shows(kw, header, f"{i + 2} of 8"))
            assert store_rows(home, "kernel-keys").get(i) == int(key), "the next case showed before the score was kept"
        kw.type_key(keybox, "b")  # back to case 4, change its score with a button click
        kw.wait_for(header_shows(kw, header, "5 of 8"))
        buttons = [cid for cid, s in kw.models.items() if s.get("_view_name") == "ButtonView"
                   and s.get("description") == "5"]
        kw.click(buttons[-1])
        kw.wait_for(header_shows(kw, header, "6 of 8"))
        assert store_rows(home, "kernel-keys")[4] == 5
        out = kw.execute("print(queue.wait_sent(), len(queue.scores), queue.case)")
        assert out.split() == ["True", "5", "5"]
    got = [r for r in sandbox_env.received("orq.metrics") if (r["body"].get("metadata") or {}).get("review") == "kernel-keys"]
    values = [(r["body"]["metadata"]["case"], r["body"]["metadata"]["value"]) for r in got]
    assert values == [(0, 4), (1, 5), (2, 3), (3, 1), (4, 2), (4, 5)]  # each once; the change once more
    assert all(r["body"]["metadata"]["source"] == "human" and r["body"]["metadata"]["metric"] == "Helpfulness"
               for r in got)


def test_a_new_kernel_resumes_where_the_queue_stood(sandbox_env):
    with KernelWidgets() as kw:
        kw.execute(SETUP.format(n=6, name="kernel-resume"))
        keybox, header = kw.find("orqmagic-keybox"), kw.find("orqmagic-review-header")
        for i, key in enumerate("34s"):
            kw.type_key(keybox, key)
            kw.wait_for(header_shows(kw, header, f"{i + 2} of 6"))
        kw.execute("queue.wait_sent()")
    with KernelWidgets() as kw:  # a restarted kernel: the run is loaded, the queue resumes
        kw.execute(SETUP.format(n=6, name="kernel-resume"))
        header = kw.find("orqmagic-review-header")
        assert "4 of 6 · 2 scored · 1 skipped" in position(kw, header)
        out = kw.execute("print(orqmagic.load_review('kernel-resume').set_index('case')['score'].to_dict())")
        assert "0: 3, 1: 4" in out
    sent = [r for r in sandbox_env.received("orq.metrics") if (r["body"].get("metadata") or {}).get("review") == "kernel-resume"]
    assert len(sent) == 2  # nothing re-sent on resume, nothing sent for a skip


def test_two_kernels_on_one_queue_never_lose_or_double_a_score(sandbox_env):
    first, second = KernelWidgets(), KernelWidgets()
    try:
        first.execute(SETUP.format(n=24, name="kernel-two"))
        second.execute(SETUP.format(n=24, name="kernel-two"))
        plans = {first: "[(c, 4) for c in range(0, 16)]", second: "[(c, 4 if c % 2 else 5) for c in range(8, 24)]"}
        outputs: dict[KernelWidgets, str] = {}

        def score(kw: KernelWidgets) -> None:
            outputs[kw] = kw.execute(f"for c, s in {plans[kw]}:\n    queue.record(c, s)\nprint(queue.wait_sent())")

        threads = [threading.Thread(target=score, args=(kw,)) for kw in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(o.strip() == "True" for o in outputs.values()), outputs
        stored = second.execute("print(sorted(orqmagic.load_review('kernel-two')['case']))")
        assert stored.strip() == str(list(range(24)))
    finally:
        first.close()
        second.close()
    sent: dict[int, list[int]] = {}
    for r in sandbox_env.received("orq.metrics"):
        if (r["body"].get("metadata") or {}).get("review") == "kernel-two":
            sent.setdefault(r["body"]["metadata"]["case"], []).append(r["body"]["metadata"]["value"])
    for case in range(24):
        given = ({4} if case < 16 else set()) | ({4 if case % 2 else 5} if case >= 8 else set())
        assert sorted(sent[case]) == sorted(given), (case, sent[case])  # each distinct value exactly once
