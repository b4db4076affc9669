"""``%%invoke`` in a real kernel (nbclient + ipykernel): what the front end receives and what is saved."""

import datetime as dt

import nbformat
from nbclient import NotebookClient

from orqmagic.clients import OrqClient
from orqmagic.render.contain import contain_headings
from orqmagic.render.live import TAIL_CHARS


class RecordingClient(NotebookClient):
    """Keeps every iopub message, to measure display traffic as a front end sees it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: list[dict] = []

    def process_message(self, msg, cell, cell_index):
        self.messages.append(msg)
        return super().process_message(msg, cell, cell_index)


def run(cells: list[str]) -> tuple[nbformat.NotebookNode, RecordingClient]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = RecordingClient(notebook, timeout=120, kernel_name="python3")
    client.execute()
    return notebook, client


def timestamp(msg: dict) -> float:
    date = msg["header"]["date"]
    return (date if isinstance(date, dt.datetime) else dt.datetime.fromisoformat(str(date))).timestamp()


def test_saved_notebook_holds_one_final_answer(sandbox_env):
    question = "How do I rotate my API key?"
    notebook, _ = run(["%load_ext orqmagic", f"%%invoke support-bot -o answer\n{question}", "print(answer.complete, answer.id)"])
    outputs = notebook.cells[1].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data"
    expected = OrqClient(base_url=sandbox_env.url, api_key=sandbox_env.key).invoke(
        "support-bot", messages=[{"role": "user", "content": question}])["choices"][0]["message"]["content"]
    assert contain_headings(expected) in outputs[0].data["text/markdown"]  # its headings kept off the outline
    assert expected in outputs[0].data["text/plain"]
    assert "▍" not in outputs[0].data["text/markdown"]  # the live cursor is gone
    answer_id = notebook.cells[2].outputs[0].text.split()[1]
    assert answer_id in outputs[0].data["text/markdown"]


def test_live_updates_are_throttled_and_bounded(sandbox_env):
    sandbox_env.set_faults("token_rate=1500")
    words = " ".join(f"word{i}" for i in range(1500))
    notebook, client = run(["%load_ext orqmagic", f'%%invoke support-bot --mock "{words}" -o answer\nhi'])
    updates = [m for m in client.messages if m["msg_type"] == "update_display_data"]
    shown = [m for m in client.messages if m["msg_type"] == "display_data"]
    assert len(shown) == 1 and len(updates) >= 2
    interim, final = updates[:-1], updates[-1]
    for msg in interim:
        body = msg["content"]["data"]["text/markdown"]
        assert len(body) <= TAIL_CHARS + 200, "an interim update re-sent more than the bounded tail"
    assert words in final["content"]["data"]["text/markdown"]
    streaming = [shown[0], *interim]
    span = timestamp(streaming[-1]) - timestamp(streaming[0])
    assert len(streaming) <= span / 0.1 + 2, "more than about 10 updates per second"
    saved = notebook.cells[1].outputs
    assert len(saved) == 1 and words in saved[0].data["text/markdown"]
