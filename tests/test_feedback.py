"""Feedback to orq: client-side checks, delivery proved by the sandbox, and the outbox under failures."""

import collections
import json
import subprocess
import sys

import httpx
import pytest

import orqmagic
from orqmagic import NotFoundError, ValidationError
from orqmagic.clients import OrqClient, RetryPolicy
from orqmagic.store.outbox import SUBMISSION_ID_KEY, Outbox, default_outbox
from orqmagic.widgets import FeedbackPanel

QUESTION = "How do I rotate my API key?"


@pytest.fixture
def answer(sandbox_env):
    return orqmagic.invoke("support-bot", QUESTION, display=False)


def delivered(sandbox) -> collections.Counter:
    return collections.Counter(r["body"].get("metadata", {}).get(SUBMISSION_ID_KEY) for r in sandbox.received("orq.metrics"))


def test_feedback_arrives_with_the_response_id(answer, sandbox):
    receipt = answer.feedback(75, comment="good", attach_metrics=True)
    assert receipt.status == "sent"
    record = sandbox.received("orq.metrics")[-1]
    assert record["transaction_id"] == answer.id
    body = record["body"]
    assert body["feedback"] == {"score": 75}
    assert body["metadata"]["comment"] == "good" and body["metadata"][SUBMISSION_ID_KEY] == receipt.submission_id
    assert body["usage"]["completion_tokens"] == answer.usage["completion_tokens"]
    assert body["performance"]["latency"] == pytest.approx(answer.latency_ms, abs=0.1)
    assert body["performance"]["time_to_first_token"] == pytest.approx(answer.ttft_ms, abs=0.1)


def test_report_metrics_sends_usage_and_performance(answer, sandbox):
    answer.report_metrics()
    body = sandbox.received("orq.metrics")[-1]["body"]
    assert "feedback" not in body and set(body) >= {"usage", "performance"}


def test_add_metrics_function_with_every_field(answer, sandbox):
    orqmagic.add_metrics(answer.id, score=10, usage={"prompt_tokens": 1, "completion_tokens": 2},
                         performance={"latency": 5}, messages=[{"role": "user", "content": "q"}],
                         choices=[{"role": "assistant", "content": "a"}], metadata={"k": 1})
    body = sandbox.received("orq.metrics")[-1]["body"]
    assert body["messages"][0]["content"] == "q" and body["choices"][0]["content"] == "a" and body["metadata"]["k"] == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"score": 101}, "score"), ({"score": -1}, "score"), ({"score": 50.5}, "score"), ({"score": "abc"}, "score"),
     ({"score": True}, "score"), ({"usage": {"prompt_tokens": 3}}, "usage.completion_tokens"),
     ({"usage": {"completion_tokens": 3}}, "usage.prompt_tokens"), ({"performance": {"time_to_first_token": 3}}, "performance.latency"),
     ({"performance": {"latency": "fast"}}, "performance.latency"), ({}, None), ({"metadata": "x"}, "metadata"),
     ({"choices": [{"index": 0, "message": {}}]}, "choices")],
)
def test_bad_feedback_names_the_field_and_sends_nothing(answer, sandbox, fields, field):
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError) as info:
        orqmagic.add_metrics(answer.id, **fields)
    assert info.value.field == field
    assert sandbox.requests()[mark:] == []
    assert Outbox().pending() == []


def test_validation_error_from_the_server_is_reported_not_retried(sandbox_env, sandbox):
    with pytest.raises(NotFoundError):
        orqmagic.add_metrics("01ARZ3NDEKTSV4RRFFQ69G5FAV", score=5)
    assert Outbox().pending() == []


def test_transient_failure_is_kept_and_sent_at_the_next_send(answer, sandbox):
    sandbox.set_faults("status=503,times=1,match=/v2/deployments/" + answer.id)
    first = answer.feedback(40)
    assert first.status == "queued" and "503" in first.error
    assert [p["id"] for p in Outbox().pending()] == [first.submission_id]
    second = answer.feedback(60)
    assert second.status == "sent"  # sent at once; the older one goes in a background retry
    assert default_outbox().wait(timeout=30)
    assert Outbox().pending() == []
    assert delivered(sandbox)[first.submission_id] == 1 and delivered(sandbox)[second.submission_id] == 1


def test_hundred_submissions_with_a_third_failing_arrive_exactly_once(sandbox_env, sandbox, tmp_path):
    ids = [orqmagic.invoke("support-bot", f"question {i}", display=False).id for i in range(5)]
    box = Outbox(tmp_path / "box.sqlite3", orq=OrqClient(retry=RetryPolicy(attempts=1)))
    sandbox.set_faults("status=503,every=3,match=/v2/deployments/01")
    receipts = [box.submit(ids[i % 5], score=i) for i in range(100)]
    assert any(r.status == "queued" for r in receipts)
    sandbox.set_faults(None)
    assert box.wait(timeout=60)  # background retries that started after successful sends
    box.flush()
    assert box.pending() == []
    counts = delivered(sandbox)
    assert all(counts[r.submission_id] == 1 for r in receipts), "a submission was lost or delivered twice"
    scores = sorted(r["body"]["feedback"]["score"] for r in sandbox.received("orq.metrics")
                    if r["body"].get("metadata", {}).get(SUBMISSION_ID_KEY) in {x.submission_id for x in receipts})
    assert scores == list(range(100))


def test_nothing_is_lost_across_a_kernel_restart(sandbox_env, sandbox, tmp_path):
    answer_id = orqmagic.invoke("support-bot", QUESTION, display=False).id
    home = tmp_path / "restart-home"
    script = (
        "import orqmagic\n"
        f"receipts = [orqmagic.add_metrics({answer_id!r}, score=s) for s in (11, 22, 33)]\n"
        "print(','.join(r.status for r in receipts))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "ORQ_BASE_URL": "http://127.0.0.1:9", "ORQ_API_KEY": sandbox.key,
           "ORQMAGIC_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "queued,queued,queued"
    store = home / "orqmagic.sqlite3"
    assert len(Outbox(store).pending()) == 3
    report = Outbox(store).flush()  # a new process state: only the store carries the submissions
    assert len(report.sent) == 3 and Outbox(store).pending() == []
    scores = [r["body"]["feedback"]["score"] for r in sandbox.received("orq.metrics") if r["transaction_id"] == answer_id]
    assert sorted(scores) == [11, 22, 33]


def test_ambiguous_failure_is_counted_once_by_our_bookkeeping(tmp_path):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        if len(calls) == 1:
            raise httpx.ReadTimeout("sent, but no answer", request=request)
        return httpx.Response(200, json={"success": True})

    client = OrqClient(base_url="http://orq.test", api_key="k", transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1))
    box = Outbox(tmp_path / "a.sqlite3", orq=client)
    receipt = box.submit("resp_1", score=9)
    assert receipt.status == "queued"
    report = box.flush()
    assert report.sent == [receipt.submission_id] and box.pending() == []
    assert [c["metadata"][SUBMISSION_ID_KEY] for c in calls] == [receipt.submission_id] * 2
    assert box.flush().sent == []  # done is done: never sent a third time


def test_torn_last_line_of_an_old_outbox_file_does_not_lose_the_rest(tmp_path):
    path = tmp_path / "torn.jsonl"
    path.write_text('{"op":"add","id":"a","transaction_id":"t","body":{"feedback":{"score":1}}}\n{"op":"add","id"')
    box = Outbox(path)
    assert [p["id"] for p in box.pending()] == ["a"]
    assert [r["status"] for r in box.records("damaged")] == ["damaged"]


def test_orq_outbox_and_flush_magics(ip, sandbox):
    answer_id = orqmagic.invoke("support-bot", QUESTION, display=False).id
    sandbox.set_faults("status=503,match=/v2/deployments/" + answer_id)
    assert orqmagic.add_metrics(answer_id, score=1).status == "queued"
    pending = ip.run_line_magic("orq", "outbox")
    assert list(pending["score"]) == [1]
    sandbox.set_faults(None)
    report = ip.run_line_magic("orq", "flush")
    assert len(report.sent) == 1 and "1** sent" in report._repr_markdown_()
    assert "empty" in repr(ip.run_line_magic("orq", "outbox"))


# -- FeedbackPanel ----------------------------------------------------------------------------


def test_panel_thumbs_up_sends_100_with_comment_and_metrics(answer, sandbox):
    panel = FeedbackPanel(answer)
    assert panel.attach.value is True
    panel.comment.value = "spot on"
    panel.up.click()
    body = sandbox.received("orq.metrics")[-1]["body"]
    assert body["feedback"] == {"score": 100} and body["metadata"]["comment"] == "spot on" and "usage" in body
    assert "✅ sent" in panel.status.value


def test_panel_slider_score_and_bare_id(answer, sandbox):
    panel = FeedbackPanel(answer.id)
    assert panel.attach.disabled
    panel.score.value = 37
    panel.send_button.click()
    assert sandbox.received("orq.metrics")[-1]["body"] == {
        "feedback": {"score": 37}, "metadata": {SUBMISSION_ID_KEY: panel.receipt.submission_id}}


def test_panel_shows_server_errors_and_keeps_inputs(sandbox_env, sandbox):
    panel = FeedbackPanel("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    panel.comment.value = "keep me"
    panel.score.value = 12
    panel.send()
    assert "orq.ai answered 404" in panel.status.value
    assert panel.comment.value == "keep me" and panel.score.value == 12


def test_panel_transient_failure_goes_to_the_outbox(answer, sandbox):
    sandbox.set_faults("status=503,match=/v2/deployments/" + answer.id)
    panel = FeedbackPanel(answer)
    panel.down.click()
    assert "kept in the outbox" in panel.status.value and len(Outbox().pending()) == 1


def test_repeated_thumbs_send_once_and_a_change_clears_the_status(answer, sandbox):
    panel = FeedbackPanel(answer)
    mark = len(sandbox.received("orq.metrics"))
    panel.up.click()
    panel.up.click()
    panel.send_button.click()
    assert len(sandbox.received("orq.metrics")) == mark + 1  # one submission, not three
    assert "already sent (score 100)" in panel.status.value and "var(--jp-ui-font-color2" in panel.status.value
    panel.comment.value = "on reflection"
    assert panel.status.value == ""  # the old line described other inputs
    panel.down.click()
    assert len(sandbox.received("orq.metrics")) == mark + 2 and "✅ sent (score 0)" in panel.status.value
    assert "var(--jp-success-color1" in panel.status.value


def test_report_metrics_says_what_was_sent(answer):
    receipt = answer.report_metrics()
    assert receipt._repr_markdown_().startswith("✅ usage and timings sent for `")
    assert "feedback" not in receipt._repr_markdown_()


def test_panel_needs_an_id():
    with pytest.raises(ValidationError):
        FeedbackPanel(None)


def test_feedback_bar_under_an_answer(ip, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    ip.run_cell_magic("invoke", "support-bot --feedback -o r", QUESTION)
    bars = [o for o in shown if isinstance(o, FeedbackPanel)]
    assert len(bars) == 1 and bars[0].transaction_id == ip.user_ns["r"].id
