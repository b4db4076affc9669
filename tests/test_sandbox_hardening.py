"""The sandbox as a server under hostile input: bad bodies get 400, bad fault specs a clear error, inspection a key."""

import subprocess
import sys
import time

import httpx
import pytest

from orqmagic import Sandbox
from orqmagic.sandbox import Faults, FaultSpecError
from orqmagic.sandbox import state as sandbox_state

from .test_sandbox import free_port


def post_metrics(sandbox, answer_id: str, content: str) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/v2/deployments/{answer_id}/metrics", content=content,
                      headers={"Authorization": f"Bearer {sandbox.key}", "Content-Type": "application/json"})


@pytest.fixture
def answer_id(sandbox):
    response = httpx.post(f"{sandbox.url}/v2/deployments/invoke", json={"key": "support-bot", "inputs": {"q": "x"}},
                          headers={"Authorization": f"Bearer {sandbox.key}"})
    return response.json()["id"]


def received(sandbox) -> httpx.Response:
    return httpx.get(f"{sandbox.url}/_sandbox/received", headers={"Authorization": f"Bearer {sandbox.key}"})


@pytest.mark.parametrize("body", ['{"feedback": {"score": NaN}}', '{"feedback": {"score": Infinity}}',
                                  '{"performance": {"latency": -Infinity}}'])
def test_nan_and_infinity_get_400_and_inspection_keeps_working(sandbox, answer_id, body):
    response = post_metrics(sandbox, answer_id, body)
    assert response.status_code == 400 and "not valid JSON" in response.json()["message"]
    assert received(sandbox).status_code == 200


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
def test_over_deep_bodies_get_400(sandbox, answer_id, depth):
    response = post_metrics(sandbox, answer_id, '{"metadata": ' + "[" * depth + "]" * depth + "}")
    assert response.status_code == 400 and "nests deeper than 64" in response.json()["message"]


def test_a_body_at_the_depth_limit_is_accepted(sandbox, answer_id):
    response = post_metrics(sandbox, answer_id, '{"feedback": {"score": 1}, "metadata": {"k": ' + "[" * 60 + "]" * 60 + "}}")
    assert response.status_code == 200


@pytest.mark.parametrize(("spec", "message"), [
    ("status=99", "status must be a number from 400 to 599"), ("status=700", "status must be"),
    ("every=0", "every must be a number from 1"), ("times=0", "times must be"), ("times=-3", "times must be"),
    ("retry_after=inf", "retry_after must be a number from 0 to 3600"), ("retry_after=nan", "retry_after must be"),
    ("retry_after=-1", "retry_after must be"), ("latency_ms=1e12", "latency_ms must be"), ("token_rate=-1", "token_rate must be"),
    ("malformed_at=0", "malformed_at must be"), ("status=abc", "needs a number"), ("explode=1", "unknown fault"),
])
def test_fault_specs_are_validated_with_clear_errors(sandbox, spec, message):
    with pytest.raises(FaultSpecError, match=message):
        Faults.parse(spec)
    with pytest.raises(FaultSpecError):
        sandbox.set_faults(spec)
    put = httpx.put(f"{sandbox.url}/_sandbox/faults", content=spec, headers={"Authorization": f"Bearer {sandbox.key}"})
    assert put.status_code == 400 and message.split(" must")[0].split(" needs")[0] in put.json()["error"]
    header = httpx.post(f"{sandbox.url}/v2/deployments/invoke", json={"key": "support-bot", "inputs": {}},
                        headers={"Authorization": f"Bearer {sandbox.key}", "X-Sandbox-Fault": spec})
    assert header.status_code == 400


def test_inspection_needs_the_key(sandbox):
    assert httpx.get(f"{sandbox.url}/_sandbox/received").status_code == 401
    assert httpx.get(f"{sandbox.url}/_sandbox/received", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert received(sandbox).status_code == 200


def test_stored_records_are_capped(monkeypatch):
    monkeypatch.setattr(sandbox_state, "MAX_RECORDS", 10)
    with Sandbox() as sb:
        for _ in range(25):
            httpx.get(f"{sb.url}/v2/deployments", headers={"Authorization": f"Bearer {sb.key}"})
        snapshot = received(sb).json()
        assert len(snapshot["requests"]) == 10 and snapshot["dropped"] == 15


def test_an_injected_stream_drop_logs_one_line_not_a_traceback():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "orqmagic.sandbox", "--port", str(port), "--key", "k", "--token-rate", "0",
         "--faults", "drop_after=2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "orqmagic sandbox on" in process.stdout.readline()
        for _ in range(200):  # the banner is printed just before uvicorn binds
            try:
                with httpx.stream("POST", f"http://127.0.0.1:{port}/v2/deployments/stream", headers={"Authorization": "Bearer k"},
                                  json={"key": "support-bot", "stream": True, "inputs": {"q": "x"}}) as response, \
                        pytest.raises(httpx.HTTPError):
                    for _ in response.iter_lines():
                        pass
                break
            except httpx.ConnectError:
                time.sleep(0.05)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err and "Exception in ASGI application" not in err
    lines = [line for line in err.splitlines() if "sandbox fault" in line]
    assert len(lines) == 1 and lines[0].endswith("orqmagic sandbox: sandbox fault: stream dropped")
