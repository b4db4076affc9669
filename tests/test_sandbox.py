"""The sandbox as a program and as a library: start-up, auth, faults, inspection."""

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from orqmagic import Sandbox
from orqmagic.clients import OrqClient
from orqmagic.sandbox import Faults, FaultSpecError, fetch_received
from orqmagic.sandbox.orq import DEPLOYMENTS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_line_sandbox_prints_url_and_key_and_serves():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "orqmagic.sandbox", "--port", str(port), "--key", "cli-key", "--token-rate", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first_line and "cli-key" in first_line
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/v2/deployments", headers={"Authorization": "Bearer cli-key"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200 and response.json()["data"][0]["key"] == "support-bot"
        answer_id = OrqClient(base_url=f"http://127.0.0.1:{port}", api_key="cli-key").invoke("support-bot", inputs={"q": "hi"})["id"]
        OrqClient(base_url=f"http://127.0.0.1:{port}", api_key="cli-key").add_metrics(answer_id, score=3)
        received = fetch_received(f"http://127.0.0.1:{port}", "cli-key")["received"]
        assert received[-1]["transaction_id"] == answer_id
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_command_line_rejects_a_bad_fault_spec():
    result = subprocess.run([sys.executable, "-m", "orqmagic.sandbox", "--faults", "explode=1"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown fault 'explode=1'" in result.stderr


def test_in_process_sandbox_uses_a_free_port_and_shuts_down():
    with Sandbox() as sb:
        url = sb.url
        assert httpx.get(f"{url}/_sandbox/health").json()["ok"] is True
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sandbox/health")


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/v2/deployments", {"message", "code", "details"}), ("/v1/models", {"error"}), ("/metrics", {"error", "message"})],
)
def test_missing_key_gets_each_service_error_shape(sandbox, path, shape):
    response = httpx.get(f"{sandbox.url}{path}")
    assert response.status_code == 401 and set(response.json()) == shape


def test_fault_spec_parsing():
    faults = Faults.parse("latency_ms=250, status=429, retry_after=1.5, times=2, match=/v2/, final_repeats=1")
    assert (faults.latency_ms, faults.status, faults.retry_after, faults.times, faults.match, faults.final_repeats) == (
        250.0, 429, 1.5, 2, "/v2/", True)
    with pytest.raises(FaultSpecError, match="needs a number"):
        Faults.parse("status=abc")
    with pytest.raises(FaultSpecError, match="unknown fault"):
        Faults.parse("slow")


def test_global_faults_with_match_and_every(sandbox):
    sandbox.set_faults("status=503,every=3,match=/v2/deployments/invoke")
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key)
    statuses = []
    for _ in range(6):
        try:
            client.invoke("support-bot", inputs={"q": "x"})
            statuses.append(200)
        except Exception:
            statuses.append(503)
    assert statuses == [200, 200, 503, 200, 200, 503]
    assert len(client.list_deployments()) == len(DEPLOYMENTS)  # another path: unaffected


def test_faults_control_endpoint(sandbox):
    response = httpx.put(f"{sandbox.url}/_sandbox/faults", content="latency_ms=5", headers={"Authorization": f"Bearer {sandbox.key}"})
    assert response.json() == {"faults": {"latency_ms": 5.0}}
    assert httpx.put(f"{sandbox.url}/_sandbox/faults", content="latency_ms=5").status_code == 401
    assert httpx.put(f"{sandbox.url}/_sandbox/faults", content="boom", headers={"Authorization": f"Bearer {sandbox.key}"}).status_code == 400


def test_bad_fault_header_is_a_400(sandbox):
    response = httpx.get(f"{sandbox.url}/v2/deployments", headers={"Authorization": f"Bearer {sandbox.key}", "X-Sandbox-Fault": "nope=1"})
    assert response.status_code == 400 and "unknown fault" in response.json()["message"]


def test_stream_wire_format_has_comments_data_less_events_and_done(sandbox):
    with httpx.stream("POST", f"{sandbox.url}/v2/deployments/stream", headers={"Authorization": f"Bearer {sandbox.key}"},
                      json={"key": "support-bot", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as response:
        body = response.read().decode()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert body.startswith(": orqmagic sandbox stream\n\nevent: ping\n\n")
    assert body.endswith("data: [DONE]\n\n")
    final = json.loads(body.split("data: ")[-2])
    assert final["is_final"] is True and final["usage"]["total_tokens"] > 0


def test_token_rate_paces_the_stream(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, headers={"X-Sandbox-Fault": "token_rate=100"})
    stamps = [time.monotonic() for _ in client.stream("support-bot", mock_response=" ".join(["w"] * 20))]
    assert len(stamps) == 21
    assert stamps[-2] - stamps[0] >= 0.15  # 19 gaps at 100 chunks/s, with slack
