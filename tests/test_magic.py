"""``%%invoke`` and ``%orq`` through a real InteractiveShell, against the sandbox over HTTP."""

import subprocess
import sys
import time

import pytest
from IPython.core.error import UsageError

from orqmagic import NotFoundError
from orqmagic.clients import OrqClient
from orqmagic.magics.errors import CellError, CellInterrupted

QUESTION = "How do I rotate my API key?"


def sandbox_answer(sandbox, **fields) -> str:
    answer = OrqClient(base_url=sandbox.url, api_key=sandbox.key).invoke(fields.pop("key", "support-bot"), **fields)
    return answer["choices"][0]["message"]["content"]


def test_invoke_streams_the_answer_into_the_result_and_output(ip, sandbox, capsys):
    ip.run_cell_magic("invoke", "support-bot -o answer", QUESTION)
    answer = ip.user_ns["answer"]
    expected = sandbox_answer(sandbox, messages=[{"role": "user", "content": QUESTION}])
    assert answer.text == expected and answer.complete
    assert ip.user_ns["_"] is answer
    assert answer.id and answer.usage["completion_tokens"] > 0 and answer.ttft_ms <= answer.latency_ms
    printed = capsys.readouterr().out
    assert expected in printed
    assert f"id {answer.id}" in printed and "support-bot · openai/gpt-4o-mini" in printed


def test_help_lists_the_options(ip):
    doc = ip.find_cell_magic("invoke").__doc__
    for option in ("--inputs", "--messages", "--no-stream", "--format", "--chat", "--mock", "-o VAR"):
        assert option in doc


def test_inputs_take_variables_and_text(ip):
    ip.user_ns["who"] = "Ada Lovelace"
    ip.run_cell_magic("invoke", "support-bot --inputs customer=who tier=gold -o r", "Greet the customer")
    assert "- **customer**: Ada Lovelace" in ip.user_ns["r"].text and "- **tier**: gold" in ip.user_ns["r"].text


def test_inputs_from_a_dict_variable_without_a_cell(ip):
    ip.user_ns["case"] = {"text": "Long report about quarterly revenue"}
    ip.run_line_magic("invoke", "summarizer --inputs case -o r")
    assert ip.user_ns["r"].text.startswith("## Long Report Quarterly")
    assert "- **text**: Long report about quarterly revenue" in ip.user_ns["r"].text


def test_chat_cell_sends_turns(ip, sandbox):
    cell = "system:\nYou are terse.\nuser:\nFirst question\nassistant:\nFirst answer\nuser:\nWhat about billing?"
    ip.run_cell_magic("invoke", "support-bot --chat -o r", cell)
    expected = sandbox_answer(sandbox, messages=[{"role": "system", "content": "You are terse."},
                                                 {"role": "user", "content": "What about billing?"}])
    assert ip.user_ns["r"].text == expected and "## Billing\n\nUsage is billed per token" in expected  # terse


def test_interpolation_is_opt_in_and_leaves_braces(ip):
    ip.user_ns["topic"] = "billing"
    ip.run_cell_magic("invoke", "support-bot --mock x -o plain", 'About {{topic}} {"a": {"b": 1}}')
    ip.run_cell_magic("invoke", "support-bot --interpolate -o r", 'About {{topic}} and {"a": {"b": 1}}')
    assert "About billing and {\"a\": {\"b\": 1}}" in ip.user_ns["r"].text


def test_no_stream_uses_invoke(ip, sandbox):
    ip.run_cell_magic("invoke", "support-bot --no-stream -o r", QUESTION)
    result = ip.user_ns["r"]
    assert not result.streamed and result.ttft_ms is None
    assert result.text == sandbox_answer(sandbox, messages=[{"role": "user", "content": QUESTION}])
    assert result.usage["prompt_tokens"] > 0


def test_mock_system_and_retrievals(ip):
    ip.run_cell_magic("invoke", 'rag-bot --mock "Canned reply" --system "Be brief" --retrievals -o r', "hi")
    assert ip.user_ns["r"].text == "Canned reply"
    ip.run_cell_magic("invoke", "rag-bot --retrievals -o r2", QUESTION)
    assert ip.user_ns["r2"].retrievals[0]["metadata"]["file_name"] == "security.md"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_formats(ip, capsys, fmt):
    ip.run_cell_magic("invoke", f"support-bot --format {fmt} -o r", QUESTION)
    assert ip.user_ns["r"].text in capsys.readouterr().out


def test_default_deployment_from_config(ip):
    ip.run_line_magic("config", "OrqMagic.deployment = 'code-helper'")
    ip.run_cell_magic("invoke", "-o r", QUESTION)
    assert ip.user_ns["r"].deployment == "code-helper" and ip.user_ns["r"].model == "gpt-4.1"


BAD_LINES = [
    ("", "hi", "name a deployment"),
    ("support-bot --bogus", "hi", "unrecognized arguments"),
    ("support-bot --inputs a", "hi", "no variable named 'a'"),
    ("support-bot --inputs 'not valid'", "hi", "expected key=value pairs"),
    ("support-bot --inputs notdict", "hi", "expected a dict"),
    ("support-bot", "   ", "the cell is empty"),
    ("support-bot --interpolate", "hi {{missing}}", "no variable named 'missing'"),
    ("support-bot --messages msgs", "also a cell", "leave the cell empty"),
    ("support-bot --messages nothere", None, "no variable named 'nothere'"),
    ("support-bot --format html", "hi", "invalid choice"),
    ("support-bot --documents notdict", "hi", "documents must be a list of dicts"),
    ("support-bot --documents 3", "hi", "expected a list"),
    ("support-bot --system 'unclosed", "hi", "cannot read the options"),
    ("support-bot --chat", "user:\nhi\nassistant:\nhello", "must not end with an assistant turn"),
    ("support-bot --messages badmsgs", None, r"messages\[0\].role must be one of"),
    ("support-bot", None, "the cell is empty"),
    ("support-bot --thread '{\"tags\": []}'", "hi", "thread must be an id string"),
    ("support-bot -o 1bad", "hi", None),
]


@pytest.mark.parametrize(("line", "cell", "message"), BAD_LINES)
def test_bad_input_is_a_usage_error_and_sends_nothing(ip, sandbox, line, cell, message):
    ip.user_ns.update(notdict=[1, 2], msgs=[{"role": "user", "content": "x"}], badmsgs=[{"role": "robot", "content": "x"}])
    mark = len(sandbox.requests())
    if message is None:  # -o with a bad name: the answer is fine, storing it is not
        with pytest.raises(UsageError, match="-o needs a variable name"):
            ip.run_cell_magic("invoke", line, cell)
        return
    with pytest.raises(UsageError, match=message):
        if cell is None:
            ip.run_line_magic("invoke", line)
        else:
            ip.run_cell_magic("invoke", line, cell)
    assert sandbox.requests()[mark:] == []


def test_service_errors_are_one_line(ip, capsys):
    result = ip.run_cell("%%invoke no-such-bot\nhi")
    assert isinstance(result.error_in_exec, CellError)
    err = capsys.readouterr()
    shown = (err.out + err.err).strip().splitlines()
    assert any("orq.ai answered 404: Deployment with key 'no-such-bot' not found" in line for line in shown)
    assert not any("Traceback" in line for line in shown)


def test_show_traceback_raises_the_typed_error(ip):
    ip.run_line_magic("config", "OrqMagic.show_traceback = True")
    try:
        with pytest.raises(NotFoundError):
            ip.run_cell_magic("invoke", "no-such-bot", "hi")
    finally:
        ip.run_line_magic("config", "OrqMagic.show_traceback = False")


def test_mid_stream_failure_keeps_partial_text(ip, sandbox, capsys):
    sandbox.set_faults("drop_after=6")
    result = ip.run_cell("%%invoke support-bot -o partial\n" + QUESTION)
    assert isinstance(result.error_in_exec, CellError)
    partial = ip.user_ns["partial"]
    assert not partial.complete and partial.chunks == 6 and partial.text
    full = sandbox_answer(sandbox, messages=[{"role": "user", "content": QUESTION}])
    assert full.startswith(partial.text) and partial.text != full
    assert "broke after 6 chunks" in capsys.readouterr().out


def test_ctrl_c_stops_the_stream_and_keeps_the_partial_answer(ip, sandbox, monkeypatch):
    """Ctrl-C lands while the third chunk is being shown (an event, not a moment on the clock)."""
    from orqmagic import api

    class CtrlCAtChunkThree(api.StreamAccumulator):
        def add(self, chunk):
            added = super().add(chunk)
            if self.chunks == 3:
                raise KeyboardInterrupt
            return added

    monkeypatch.setattr(api, "StreamAccumulator", CtrlCAtChunkThree)
    sandbox.set_faults("token_rate=10")  # paced: the server is still sending when the client hangs up
    result = ip.run_cell("%%invoke support-bot -o cut\n" + QUESTION)
    assert isinstance(result.error_in_exec, CellInterrupted)  # one line, no traceback (see test_kernel_display)
    assert result.error_in_exec._render_traceback_()[0].startswith("\x1b[31minterrupted: partial answer (")
    cut = ip.user_ns["cut"]
    assert cut.interrupted and not cut.complete and cut.chunks == 3 and len(cut.text) > 0
    assert ip.user_ns["_"] is cut
    deadline = time.monotonic() + 30  # waits for the server to notice the disconnect (an event), bounded
    while not sandbox.streams()[-1]["disconnected"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sandbox.streams()[-1]["disconnected"], "the HTTP response was not closed on Ctrl-C"


def test_orq_status_says_where_keys_come_from_never_the_key(ip, sandbox, monkeypatch):
    monkeypatch.setenv("ORQ_API_KEY", "sk-canary-status-123")
    status = ip.run_line_magic("orq", "status")
    text = repr(status) + status._repr_markdown_()
    assert "canary" not in text and "set ($ORQ_API_KEY)" in text


def test_orq_sandbox_points_everything_at_the_local_sandbox(ip, monkeypatch):
    for name in ("ORQ_BASE_URL", "ORQ_API_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("ORQ_API_KEY", "sk-real-but-ignored")
    notice = ip.run_line_magic("orq", "sandbox")
    assert "simulated" in notice._repr_markdown_()
    ip.run_cell_magic("invoke", "support-bot -o r", QUESTION)
    assert ip.user_ns["r"].sandbox
    assert "sandbox (simulated)" in repr(ip.run_line_magic("orq", "status"))
    ip.run_line_magic("orq", "remote")


def test_orq_deployments_is_a_dataframe(ip):
    frame = ip.run_line_magic("orq", "deployments")
    assert list(frame["key"])[:2] == ["support-bot", "summarizer"]


def test_orq_unknown_command(ip):
    with pytest.raises(UsageError, match="unknown %orq command"):
        ip.run_line_magic("orq", "explode")


def test_unload_removes_the_magics(ip):
    ip.run_line_magic("unload_ext", "orqmagic")
    assert ip.find_cell_magic("invoke") is None and ip.find_line_magic("orq") is None
    ip.run_line_magic("load_ext", "orqmagic")


def test_import_and_load_ext_stay_light():
    code = (
        "import sys, orqmagic\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'orqmagic')\n"
        "print(sorted(m for m in ('pandas', 'matplotlib', 'ipywidgets', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_orq_login_takes_the_key_from_a_hidden_prompt(ip, monkeypatch, capsys):
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "gsk_canary_login_123")
    notice = ip.run_line_magic("orq", "login galtea")
    assert prompts == ["Galtea API key (hidden): "]
    from orqmagic.config import resolve

    assert resolve("galtea").key.reveal() == "gsk_canary_login_123"
    shown = repr(notice) + notice._repr_markdown_() + capsys.readouterr().out
    assert "canary" not in shown and "not saved anywhere" in shown
    monkeypatch.setattr("getpass.getpass", lambda prompt: "  ")
    assert "nothing changed" in repr(ip.run_line_magic("orq", "login orq"))
