"""The sandbox drops connections that ask nothing, keeps those that work, and forgets its oldest state."""

from __future__ import annotations

import socket
import time

import httpx

from orqmagic import Sandbox
from orqmagic.clients import OrqClient, StreamAccumulator
from orqmagic.sandbox import state as sandbox_state

HALF_HEAD = b"POST /v2/deployments/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Wait for the server to close ``sock`` (recv returns b""); the deadline is only a backstop."""
    try:
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_idle_and_half_open_connections_are_dropped():
    """Before: 300 of 300 such connections were still held after 25 s."""
    with Sandbox(head_timeout=0.5) as sb:
        host, port = sb.url.removeprefix("http://").split(":")
        sockets = []
        for i in range(60):
            sock = socket.create_connection((host, int(port)))
            sock.settimeout(30)
            if i % 3 == 1:
                sock.sendall(HALF_HEAD)  # half a request head, then nothing (a slow-loris)
            elif i % 3 == 2:  # one whole request, answered, then half of the next
                sock.sendall(f"GET /v2/deployments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sb.key}\r\n\r\n".encode())
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")
                sock.sendall(HALF_HEAD)
            sockets.append(sock)
        deadline = time.monotonic() + 20
        dropped = [closed_by_server(s, deadline) for s in sockets]
        for sock in sockets:
            sock.close()
        assert sum(dropped) == len(sockets)


def test_a_stream_longer_than_the_head_timeout_is_not_cut():
    with Sandbox(head_timeout=0.3, token_rate=40) as sb:
        client = OrqClient(base_url=sb.url, api_key=sb.key)
        text = " ".join(f"w{i}" for i in range(40))  # about a second at 40 chunks a second
        acc = StreamAccumulator()
        for chunk in client.stream("support-bot", mock_response=text):
            acc.add(chunk)
        assert acc.final and acc.text == text
        assert client.list_deployments()  # the pooled connection, reused or replaced, still works


def test_transactions_and_metric_definitions_are_pruned(monkeypatch):
    monkeypatch.setattr(sandbox_state, "MAX_RECORDS", 10)
    with Sandbox() as sb:
        client = OrqClient(base_url=sb.url, api_key=sb.key)
        ids = [client.invoke("support-bot", inputs={"q": str(i)})["id"] for i in range(25)]
        assert list(sb.state.transactions) == ids[-10:]
        assert client.add_metrics(ids[-1], score=80)  # the newest are still known
        gone = httpx.post(f"{sb.url}/v2/deployments/{ids[0]}/metrics", json={"feedback": {"score": 80}},
                          headers={"Authorization": f"Bearer {sb.key}"})
        assert gone.status_code == 404
        for i in range(15):
            httpx.post(f"{sb.url}/metrics", json={"name": f"m{i}", "source": "HUMAN_EVALUATION"},
                       headers={"Authorization": f"Bearer {sb.key}"}).raise_for_status()
        assert len(sb.state.galtea_metrics) == 10
