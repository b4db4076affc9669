"""Right answers at the edges: numpy scores, rows that cannot be encoded, 429 waits, odd Retry-After, keep-alive-only streams."""

import datetime as dt
import time

import httpx
import numpy as np
import pytest

import orqmagic
from orqmagic import StreamTimeout
from orqmagic.clients import OrqClient, RetryPolicy
from orqmagic.clients.retry import parse_retry_after, retry_listener
from orqmagic.errors import RateLimitError
from orqmagic.store.outbox import SUBMISSION_ID_KEY


def test_whole_number_numpy_scores_are_accepted(sandbox_env, sandbox):
    answer = orqmagic.invoke("support-bot", "hi", display=False)
    receipts = [orqmagic.add_metrics(answer.id, score=s) for s in (np.int64(90), np.int32(7), np.float64(40.0), 55.0)]
    assert [r.status for r in receipts] == ["sent"] * 4
    scores = {r["body"]["metadata"][SUBMISSION_ID_KEY]: r["body"]["feedback"]["score"] for r in sandbox.received("orq.metrics")
              if r["transaction_id"] == answer.id}
    assert [scores[r.submission_id] for r in receipts] == [90, 7, 40, 55]
    assert all(type(scores[r.submission_id]) is int for r in receipts)


def test_a_row_whose_value_cannot_be_encoded_fails_alone(sandbox_env):
    rows = [{"q": "fine"}, {"q": dt.datetime(2026, 1, 1)}, {"q": float("inf")}, {"q": "also fine"}]
    out = orqmagic.invoke_many("support-bot", rows, inputs_from=["q"], progress=False)
    assert len(out) == 4
    assert out["error"].isna().tolist() == [True, False, False, True]
    assert "holds a datetime" in out.loc[1, "error"] and "inputs.q is inf" in out.loc[2, "error"]
    assert out.loc[0, "text"] and out.loc[3, "text"]


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "soon"}, None), ({"retry-after": "20"}, 20.0), ({"retry-after": "-5"}, 0.0),
    ({"retry-after": "inf"}, None), ({"retry-after": "nan"}, None), ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({"retry-after": "Mon, 99 Foo 2015"}, None), ({}, None),
])
def test_retry_after_in_any_form_never_raises(headers, expected):
    assert parse_retry_after(httpx.Headers(headers)) == expected


def test_unreadable_retry_after_keeps_the_score(sandbox_env, sandbox):
    answer = orqmagic.invoke("support-bot", "hi", display=False)
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "soon"}, json={"message": "slow down"})

    client = OrqClient(base_url="http://orq.test", api_key="k", transport=httpx.MockTransport(handler),
                       retry=RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.02))
    box = orqmagic.Outbox(orq=client)
    receipt = box.submit(answer.id, score=5)
    assert receipt.status == "queued" and "429" in receipt.error and len(calls) == 2


def test_rate_limit_waits_are_announced_and_capped():
    heard: list[str] = []
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        wait = "0.01" if len(attempts) == 1 else "20"
        return httpx.Response(429, headers={"Retry-After": wait}, json={"message": "slow down"})

    client = OrqClient(base_url="http://orq.test", api_key="k", transport=httpx.MockTransport(handler),
                       retry=RetryPolicy(attempts=5, max_retry_after=5))
    token = retry_listener.set(heard.append)
    try:
        with pytest.raises(RateLimitError):
            client.invoke("support-bot", inputs={"q": "x"})
    finally:
        retry_listener.reset(token)
    assert heard == ["rate limited, retrying in 0 s"]  # the 20 s wait is over the cap: not waited, raised
    assert len(attempts) == 2


def test_the_live_view_shows_the_wait(sandbox_env, sandbox, monkeypatch):
    shown: list[str] = []
    from orqmagic.render import live

    monkeypatch.setattr(live.TerminalView, "status", lambda self, message: shown.append(message))
    sandbox.set_faults("status=429,times=1,retry_after=0.05,match=/v2/deployments/stream")
    result = orqmagic.invoke("support-bot", "hi", display=True)
    assert result.complete and shown == ["rate limited, retrying in 0 s"]


def test_keep_alive_comments_do_not_reset_the_stream_timeout():
    def comments():
        yield b"data: " + b'{"id": "r", "choices": [{"index": 0, "message": {"type": "content", "role": "assistant", "content": "Hel"}}]}' + b"\n\n"
        for _ in range(100_000):  # a server that only says it is alive (bounded, so a regression ends)
            time.sleep(0.01)
            yield b": keep-alive\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=comments())

    client = OrqClient(base_url="http://orq.test", api_key="k", transport=httpx.MockTransport(handler), stream_timeout=0.3)
    received = []
    with pytest.raises(StreamTimeout, match="keep-alive comments do not count"):
        for chunk in client.stream("support-bot", inputs={"q": "x"}):
            received.append(chunk)
    assert len(received) == 1
