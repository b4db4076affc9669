"""A new user's first minutes: trace ids, helpful errors, truthful status, the sandbox program, packaging."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import MalformedChunkError, NotFoundError, StreamInterrupted
from orqmagic.clients import OrqClient
from orqmagic.render.live import final_bundle

ROOT = Path(__file__).resolve().parents[1]
HEX32 = re.compile(r"^[0-9a-f]{32}$")


# -- trace ids -------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_answers_carry_the_trace_and_span_ids(sandbox_env, stream):
    result = orqmagic.invoke("support-bot", "How do I rotate my API key?", stream=stream, display=False)
    assert HEX32.match(result.trace_id) and re.fullmatch(r"[0-9a-f]{16}", result.span_id)
    assert sandbox_env.requests()  # the sandbox registered the call with the same trace id
    shown = json.loads(final_bundle(result, "json", footer=False)["text/plain"])  # the --format json view
    assert (shown["trace_id"], shown["span_id"]) == (result.trace_id, result.span_id)
    assert result.trace_id in final_bundle(result, "json", footer=True)["text/markdown"]


def test_every_stream_chunk_has_the_same_telemetry(orq):
    chunks = list(orq.stream("reasoner", messages=[{"role": "user", "content": "why?"}]))
    assert len({json.dumps(c["telemetry"], sort_keys=True) for c in chunks}) == 1
    assert HEX32.match(chunks[0]["telemetry"]["trace_id"])


def test_feedback_carries_the_trace_id(sandbox_env):
    result = orqmagic.invoke("support-bot", "hi", display=False)
    result.feedback(90, comment="good")
    result.report_metrics()
    sent = [r["body"] for r in sandbox_env.received("orq.metrics") if r["transaction_id"] == result.id]
    assert [b["metadata"]["trace_id"] for b in sent] == [result.trace_id] * 2
    assert sent[0]["metadata"]["comment"] == "good"


# -- specific errors -------------------------------------------------------------------


def test_invoke_raises_malformed_chunk_error_with_the_text_so_far(sandbox_env):
    sandbox_env.set_faults("malformed_at=4")
    with pytest.raises(MalformedChunkError) as caught:
        orqmagic.invoke("support-bot", "How do I rotate my API key?", display=False)
    assert isinstance(caught.value, StreamInterrupted)
    partial = caught.value.partial
    assert partial.text and not partial.complete and partial.chunks == 3


def test_unknown_deployment_suggests_close_keys(sandbox_env):
    with pytest.raises(NotFoundError, match=r"Did you mean 'support-bot'\?"):
        orqmagic.invoke("suport-bot", "hi", display=False)
    with pytest.raises(NotFoundError) as caught:
        orqmagic.invoke("zzzzzz", "hi", display=False)
    assert "did you mean" not in str(caught.value).lower()


def test_client_suggests_keys_when_the_server_does_not():
    """A server whose 404 has no suggestion (as the real one may): the client looks in the deployment list."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"object": "list", "has_more": False,
                                             "data": [{"id": "d1", "key": "support-bot"}, {"id": "d2", "key": "summarizer"}]})
        return httpx.Response(404, json={"code": 404, "message": "Deployment not found"})

    client = OrqClient(base_url="http://orq.test", api_key="k", transport=httpx.MockTransport(handler))
    with pytest.raises(NotFoundError, match=r"Deployment not found\. Did you mean 'summarizer'\?"):
        orqmagic.invoke("sumarizer", "hi", display=False, orq=client)



def test_deployment_hint_suggests_once_and_only_what_the_server_did_not():
    from orqmagic.clients.orq import deployment_hint

    keys = ["support-bot", "summarizer", "code-helper"]
    assert deployment_hint("sumarizer", "Deployment not found", keys) == " Did you mean 'summarizer'?"
    assert deployment_hint("sumarizer", "Not found. Did you mean 'summarizer'?", keys) == ""  # the server said it
    assert deployment_hint("weather", "Deployment not found", keys) == ""  # nothing close

def test_weather_agent_reads_the_city(orq):
    for prompt, city in [("Weather in Paris?", "Paris"), ("Is it raining in new york", "New York"),
                         ("How hot is it in Rio de Janeiro?", "Rio de Janeiro")]:
        answer = orq.invoke("weather-agent", messages=[{"role": "user", "content": prompt}])
        call = answer["choices"][0]["message"]["tool_calls"][0]
        assert json.loads(call["function"]["arguments"])["city"] == city


# -- magics ----------------------------------------------------------------------------


def test_magic_lines_accept_a_trailing_comment(ip):
    status = ip.run_line_magic("orq", "status   # where calls go")
    assert "Orq" in repr(status) or "orq" in repr(status).lower()
    ip.run_cell_magic("invoke", "support-bot --mock 'issue #4 fixed' -o answer  # a comment", "hi")
    assert ip.user_ns["answer"].text == "issue #4 fixed"


def test_status_says_when_the_sandbox_key_is_in_use(ip, monkeypatch):
    for name in ("ORQ", "BASETEN", "GALTEA"):
        monkeypatch.delenv(f"{name}_API_KEY")
        monkeypatch.delenv(f"{name}_BASE_URL")
    ip.run_line_magic("orq", "sandbox")
    text = repr(ip.run_line_magic("orq", "status"))
    assert text.count("the sandbox's own key") == 3 and "present" not in text
    monkeypatch.setenv("ORQ_API_KEY", "sk-canary-status")
    text = repr(ip.run_line_magic("orq", "status"))
    assert "yours, $ORQ_API_KEY, is not used" in text and "canary" not in text
    ip.run_line_magic("orq", "remote")
    monkeypatch.setenv("ORQMAGIC_SANDBOX", "0")
    rows = ip.run_line_magic("orq", "status").rows
    assert [r["key"] for r in rows] == ["set ($ORQ_API_KEY)", "absent", "absent"]


def test_login_refuses_a_key_on_the_line_without_echoing_it(ip):
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("orq", "login orq sk-canary-typed-123")
    assert "hidden prompt" in str(caught.value) and "canary" not in str(caught.value)


# -- programs and packaging -----------------------------------------------------------


def test_sandbox_program_prints_the_real_port_and_working_exports():
    process = subprocess.Popen([sys.executable, "-m", "orqmagic.sandbox", "--port", "0", "--key", "demo-key"],
                               stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]  # blocks until the banner is printed
        exports = dict(pair.split("=", 1) for pair in lines[2].split()[1:])
        assert exports["ORQ_API_KEY"] == exports["GALTEA_API_KEY"] == "demo-key"
        assert not exports["ORQ_BASE_URL"].endswith(":0") and exports["ORQ_BASE_URL"] in lines[0]
        with OrqClient(base_url=exports["ORQ_BASE_URL"], api_key=exports["ORQ_API_KEY"]) as client:
            assert client.invoke("support-bot", mock_response="ok")["choices"][0]["message"]["content"] == "ok"
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


def test_execute_without_nbclient_names_the_extra():
    code = "import sys; sys.modules['nbclient'] = None\nfrom orqmagic.execute import main\nsys.exit(main(['x.ipynb']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "orqmagic[notebook]" in done.stderr


def test_wheel_ships_py_typed_and_the_license(tmp_path):
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling (pip install hatchling)")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("orqmagic-*.whl"))).namelist()
    assert "orqmagic/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_baseten_404s_suggest_close_ids(baseten):
    with pytest.raises(NotFoundError, match=r"Model llama-caht not found\. Did you mean 'llama-chat'\?"):
        baseten.list_deployments("llama-caht")
    with pytest.raises(NotFoundError, match=r"Deployment prod-v2 of model llama-chat not found\. Did you mean 'prod-v3'\?"):
        baseten.deployment_metrics("llama-chat", "prod-v2", ["baseten_replicas_active"], mode="CURRENT")


@pytest.mark.parametrize(("line", "kept"), [
    ("status   # where calls go", "status"),
    ("# only a comment", ""),
    ("support-bot --mock 'issue #4' -o a  # why", "support-bot --mock 'issue #4' -o a"),
    ('support-bot --mock "say \'#1\'" # c', 'support-bot --mock "say \'#1\'"'),
    ("support-bot --metadata tag=a#b", "support-bot --metadata tag=a#b"),
    ("support-bot", "support-bot"),
])
def test_strip_comment_keeps_hashes_inside_quotes_and_words(line, kept):
    from orqmagic.magics.core import strip_comment

    assert strip_comment(line) == kept
