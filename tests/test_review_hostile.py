"""The review queue attacked: an unusable store, a killed process, the clock moved back, hostile text and labels."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import ValidationError
from orqmagic.evaluation.review import ReviewSession, load_review
from orqmagic.store import StoreError, default_store
from orqmagic.store.outbox import Outbox

pytestmark = pytest.mark.timeout(180)


def frame(labels=None, **columns) -> pd.DataFrame:
    n = len(labels) if labels is not None else 4
    data = {"question": [f"q{i}" for i in range(n)], "text": [f"a{i}" for i in range(n)], **columns}
    return pd.DataFrame(data, index=labels if labels is not None else range(n))


def test_an_unusable_store_keeps_the_case_on_screen_with_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ORQMAGIC_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "orqmagic.sqlite3").mkdir(parents=True)  # a folder where the database should be
    with pytest.raises(StoreError, match="cannot be used"):
        orqmagic.review(frame(), name="broken", send=False)
    monkeypatch.setenv("ORQMAGIC_HOME", str(tmp_path / "ok"))
    queue = orqmagic.review(frame(), name="disk", send=False)

    def full(*args, **kwargs):
        raise StoreError("the local store at /x cannot be written (database or disk is full); the score was not kept")

    monkeypatch.setattr("orqmagic.store.reviews.save", full)
    queue.keybox.value = queue.keybox.value + "4"
    assert queue.case == 0, "moved on although the score was not kept"
    assert "was not kept" in queue.status.value and "\n" not in queue.status.value


def test_a_changed_score_replaces_the_old_one_when_the_clock_moves_back(sandbox_env, monkeypatch):
    session = ReviewSession(frame(), name="clock", send=False)
    session.record(0, 4)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 86_400)  # a day back
    session.record(0, 2)
    stored = load_review("clock")
    assert len(stored) == 1 and stored.loc[0, "score"] == 2


def test_a_score_recorded_by_a_killed_process_is_sent_once_by_the_next_flush(sandbox_env, tmp_path):
    from orqmagic.clients import OrqClient

    with OrqClient(base_url=sandbox_env.url, api_key=sandbox_env.key) as orq:
        response_id = orq.invoke("support-bot", messages=[{"role": "user", "content": "hi"}])["id"]
    script = textwrap.dedent(f"""
        import os, pandas as pd
        from orqmagic.evaluation.review import ReviewSession
        from orqmagic.store.outbox import Outbox
        box = Outbox()
        box.send_one = lambda submission_id: None   # the sender never gets to it: killed first
        session = ReviewSession(pd.DataFrame({{"text": ["a"], "id": [{response_id!r}]}}), name="killed", outbox=box)
        session.record(0, 5)
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env=os.environ.copy(), timeout=120)
    arrived = lambda: [r for r in sandbox_env.received("orq.metrics")  # noqa: E731
                       if (r["body"].get("metadata") or {}).get("review") == "killed"]
    assert not arrived() and load_review("killed").loc[0, "score"] == 5  # kept, not yet sent
    report = Outbox(default_store()).flush()  # the dead process's claim is free at once
    assert len(report.sent) == 1 and len(arrived()) == 1
    again = ReviewSession(pd.DataFrame({"text": ["a"], "id": [response_id]}), name="killed")
    again.record(0, 5)  # the same value in a new kernel: not sent again
    assert again.wait_sent() and Outbox(default_store()).flush().sent == [] and len(arrived()) == 1


def test_answers_without_a_usable_response_id_are_kept_and_not_sent(sandbox_env):
    results = frame(id=["01NOTSENT00000000000000000", None, float("nan"), "../invoke?x=1"],
                    error=[None, "boom", None, None])
    session = ReviewSession(results, name="no-id")
    for case in range(1, 4):
        session.record(case, 3)  # no id, NaN, an id that could reach another URL path: kept, never sent
    assert session.wait_sent()
    assert len(load_review("no-id")) == 3
    assert not [r for r in sandbox_env.received("orq.metrics") if (r["body"].get("metadata") or {}).get("review") == "no-id"]


_names = itertools.count()
labels = st.one_of(st.integers(-10**12, 10**12), st.text(min_size=1, max_size=30))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(labels, min_size=1, max_size=8, unique_by=lambda v: (type(v), v)), st.data())
def test_any_case_labels_round_trip_through_the_store(sandbox_env, cases, data):
    name = f"labels-{next(_names)}"
    session = ReviewSession(frame(cases), name=name, send=False)
    given_scores = {}
    for case in cases:
        score = data.draw(st.integers(1, 5))
        session.record(case, score)
        given_scores[case] = score
    stored = load_review(name)
    assert dict(zip(stored["case"], stored["score"], strict=True)) == given_scores
    again = ReviewSession(frame(cases), name=name, send=False)
    assert again.scored == len(cases)


hostile = st.text(alphabet=st.sampled_from([*"<>&\"'/ scriptimgonerror=()", "\u202e", "\x00", "é"]), min_size=1,
                  max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile, hostile, hostile)
def test_hostile_text_is_escaped_everywhere_it_shows(sandbox_env, question, rubric, comment):
    results = pd.DataFrame({"question": [question], "text": ["answer"], "expected": [question]})
    name = f"hostile-{next(_names)}"
    queue = orqmagic.review(results, name=name, metric={"name": rubric.strip() or "m", "judgePrompt": rubric},
                            send=False)
    queue.record(0, 3, comment=comment)
    shown = "".join(child.value for child in (queue.header, queue.inputs, queue.expected, queue.rubric))
    for page in (shown, queue.summary_html()):
        for raw in ("<script", "<img", "<scr", "\x00", "\u202e"):
            assert raw not in page


def test_a_name_must_be_one_short_line():
    for bad in ("", "   ", "a\nb", "x" * 201, 3, None):
        with pytest.raises(ValidationError) as info:
            ReviewSession(frame(), name=bad, send=False)
        assert info.value.field == "name"


def test_a_key_pasted_into_a_comment_is_never_stored_or_sent(sandbox_env, monkeypatch):
    from orqmagic.clients import OrqClient

    with OrqClient(base_url=sandbox_env.url, api_key=sandbox_env.key) as orq:
        response_id = orq.invoke("support-bot", messages=[{"role": "user", "content": "hi"}])["id"]
    monkeypatch.setenv("GALTEA_API_KEY", "gsk_canary_0123456789abcdef")
    orqmagic.set_key("baseten", "bt_canary_0123456789abcdef")
    try:
        session = ReviewSession(pd.DataFrame({"text": ["a"], "id": [response_id]}), name="canary")
        session.record(0, 4, comment=f"tried {sandbox_env.key} and gsk_canary_0123456789abcdef, bt_canary_0123456789abcdef")
        assert session.wait_sent()
    finally:
        from orqmagic import config

        config._session.keys.clear()
    stored = load_review("canary").loc[0, "comment"]
    sent = [r["body"]["metadata"]["comment"] for r in sandbox_env.received("orq.metrics")
            if (r["body"].get("metadata") or {}).get("review") == "canary"]
    for text in (stored, *sent):
        assert "canary_0123" not in text and sandbox_env.key not in text and text.count("********") == 3
    raw = b"".join(p.read_bytes() for p in default_store().path.parent.glob("orqmagic.sqlite3*"))  # with the WAL
    assert b"canary_0123" not in raw and sandbox_env.key.encode() not in raw
