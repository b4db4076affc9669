"""A distinctive fake key must appear nowhere: not in errors, reprs, status, logs, warnings or notebooks."""

import logging
import traceback
import warnings
from pathlib import Path

import httpx
import nbformat
import pytest
from nbclient import NotebookClient

import orqmagic
from orqmagic import OrqMagicError, Sandbox
from orqmagic.clients import BasetenClient, GalteaClient, OrqClient, RetryPolicy, StreamAccumulator
from orqmagic.config import resolve

CANARY = "sk-canary-7Qx9ZpL2mW4vK8rT"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ONE_TRY = RetryPolicy(attempts=1)


def text_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(getattr(exc, "body", ""))


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text and CANARY[:16] not in text


@pytest.fixture
def canary_env(monkeypatch):
    for name in ("ORQ_API_KEY", "BASETEN_API_KEY", "GALTEA_API_KEY"):
        monkeypatch.setenv(name, CANARY)


def drive(client_call) -> str:
    with pytest.raises(OrqMagicError) as info:
        client_call()
    return text_of(info.value)


def test_every_error_path_keeps_the_key_out(canary_env, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrong = OrqClient(base_url=sandbox.url, retry=ONE_TRY)  # canary key, which the sandbox rejects: 401
        seen.append(drive(lambda: wrong.invoke("support-bot", inputs={"q": "x"})))
        seen.append(drive(lambda: list(wrong.stream("support-bot", inputs={"q": "x"}))))
        for status in (403, 404, 429, 500):
            client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=ONE_TRY,
                               headers={"X-Sandbox-Fault": f"status={status}"})
            seen.append(drive(lambda c=client: c.invoke("support-bot", inputs={"q": "x"})))
        seen.append(drive(lambda: OrqClient(base_url="http://127.0.0.1:9", retry=ONE_TRY).invoke("support-bot", inputs={"q": "x"})))
        slow = OrqClient(base_url=sandbox.url, api_key=sandbox.key, timeout=0.1, retry=ONE_TRY,
                         headers={"X-Sandbox-Fault": "latency_ms=500"})
        seen.append(drive(lambda: slow.invoke("support-bot", inputs={"q": "x"})))
        for fault in ("drop_after=3", "malformed_at=2", "first_byte_ms=800"):
            client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, stream_timeout=0.2,
                               headers={"X-Sandbox-Fault": fault})
            seen.append(drive(lambda c=client: [StreamAccumulator().add(x) for x in c.stream("support-bot", inputs={"q": "x"})]))
        seen.append(drive(lambda: BasetenClient(base_url=sandbox.url, retry=ONE_TRY).list_models()))
        seen.append(drive(lambda: GalteaClient(base_url=sandbox.url, retry=ONE_TRY).list_metrics()))
    assert len(seen) == 13  # 2 auth, 4 statuses, refused, timeout, 3 stream faults, Baseten, Galtea
    assert_clean(*seen, caplog.text, *(str(w.message) for w in caught))


def test_server_echoing_the_key_is_redacted(canary_env):
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": f"bad key {request.headers['authorization']}"})

    client = OrqClient(base_url="http://orq.test", transport=httpx.MockTransport(echo), retry=ONE_TRY)
    message = drive(lambda: client.invoke("support-bot", inputs={"q": "x"}))
    assert "bad key Bearer ********" in message
    assert_clean(message)


def test_reprs_and_status_hide_the_key(canary_env, ip, sandbox):
    clients = [OrqClient(), BasetenClient(), GalteaClient(), orqmagic.AsyncOrqClient()]
    config = resolve("orq")
    status = ip.run_line_magic("orq", "status")
    texts = [repr(c) for c in clients] + [repr(config), str(config.key), repr(status), status._repr_markdown_(),
                                         repr(orqmagic.Outbox())]
    assert all("key=set" in repr(c) for c in clients)
    assert_clean(*texts)


def test_results_panels_and_magics_hide_the_key(monkeypatch):
    with Sandbox(key=CANARY) as sb:  # the canary is the valid key here, so everything succeeds
        for service in ("ORQ", "BASETEN", "GALTEA"):
            monkeypatch.setenv(f"{service}_BASE_URL", sb.url)
            monkeypatch.setenv(f"{service}_API_KEY", CANARY)
        result = orqmagic.invoke("support-bot", "hello", display=False)
        receipt = result.feedback(50)
        panel = orqmagic.FeedbackPanel(result)
        metrics = orqmagic.MetricsPanel()
        form = orqmagic.MetricForm()
        texts = [repr(result), result._repr_markdown_(), str(result.to_dict()), repr(receipt), repr(panel),
                 metrics.status.value, metrics.table.value, repr(metrics), form.preview.value, repr(sb)]
        assert_clean(*texts)


def test_executed_notebooks_hold_no_key(monkeypatch, tmp_path):
    with Sandbox(key=CANARY) as sb:
        for service in ("ORQ", "BASETEN", "GALTEA"):
            monkeypatch.setenv(f"{service}_BASE_URL", sb.url)
            monkeypatch.setenv(f"{service}_API_KEY", CANARY)
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
            saved = tmp_path / path.name
            nbformat.write(notebook, saved)
            assert_clean(saved.read_text())
