"""The answer view and the MetricsPanel in a real kernel: Ctrl-C, and what a saved notebook keeps."""

import base64
import json

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from tests.test_kernel_display import run

QUESTION = "How do I rotate my API key and keep old integrations working?"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_ctrl_c_in_a_kernel_ends_with_one_line_and_keeps_the_partial_answer(sandbox_env):
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("%load_ext orqmagic", timeout=60)
        sandbox_env.set_faults("token_rate=20")
        msg_id = kc.execute(f"%%invoke support-bot -o cut\n{QUESTION}")
        messages, interrupted = [], False
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            data = msg["content"].get("data", {})
            if not interrupted and "waiting for the first token" not in data.get("text/markdown", "waiting") \
                    and len(data.get("text/markdown", "")) > 40:
                km.interrupt_kernel()  # SIGINT, as the front end's stop button sends it
                interrupted = True
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        sandbox_env.set_faults(None)
        errors = [m["content"] for m in messages if m["msg_type"] == "error"]
        assert len(errors) == 1 and len(errors[0]["traceback"]) == 1, errors
        assert "interrupted: partial answer (" in errors[0]["traceback"][0] and "kept in cut" in errors[0]["traceback"][0]
        shown = [m["content"]["data"] for m in messages if m["msg_type"] in ("display_data", "update_display_data")]
        assert "interrupted: partial answer kept" in shown[-1]["text/markdown"]
        printed: list[str] = []
        kc.execute_interactive("print(cut.interrupted, len(cut.text) > 0)", timeout=30,
                               output_hook=lambda m: printed.append(m["content"].get("text", "")))
        assert "True True" in "".join(printed)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_saved_notebook_keeps_a_small_snapshot_and_a_summary_of_the_panel(sandbox_env):
    cells = ["import orqmagic\npanel = orqmagic.MetricsPanel('llama-chat', 'prod-v3')\npanel",
             "panel.window.value = '6h'\npanel.wait()\nprint(panel.stale, panel.df.attrs['step_seconds'])"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    view, saved = notebook.cells[0].outputs
    assert WIDGET_VIEW in view.data and "text/plain" not in view.data  # the live widget where a kernel runs, no repr
    assert saved.data["text/plain"].startswith("MetricsPanel: llama-chat / prod-v3 · 3 metrics · 6h series · updated ")
    png = base64.b64decode(saved.data["image/png"])  # what GitHub or a kernel-less viewer shows
    assert png.startswith(b"\x89PNG") and len(png) < 60_000
    assert notebook.cells[1].outputs[0].text.strip() == "False 300"
    assert len(json.dumps(notebook.cells[0].outputs)) < 80_000  # a snapshot, not megabytes


def test_a_slow_first_token_shows_a_placeholder_in_the_same_output(sandbox_env):
    sandbox_env.set_faults("latency_ms=1500,match=/v2/deployments/stream")
    cells = ["%load_ext orqmagic", f"%%invoke support-bot -o answer\n{QUESTION}"]
    notebook, client = run(cells)
    shown = [m for m in client.messages if m["msg_type"] in ("display_data", "update_display_data")]
    first = shown[0]["content"]["data"]["text/markdown"]
    assert shown[0]["msg_type"] == "display_data" and first.startswith("*support-bot · waiting for the first token · ")
    assert shown[0]["parent_header"]["msg_id"] == shown[-1]["parent_header"]["msg_id"]  # the running cell's output
    (saved,) = notebook.cells[1].outputs
    assert "Rotate Api Key" in saved.data["text/markdown"] and "waiting" not in saved.data["text/markdown"]
