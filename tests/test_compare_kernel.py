"""Comparisons in a real kernel (nbclient + ipykernel): what the front end receives and what is saved."""

from __future__ import annotations

import asyncio
import re

import nbformat

from orqmagic.render.contain import contain_headings
from orqmagic.render.live import TAIL_CHARS
from tests.test_kernel_display import RecordingClient, run

QUESTION = "How do I rotate my API key and keep old integrations working?"


def answers(sandbox, *keys: str) -> dict[str, str]:
    from orqmagic.clients import OrqClient

    with OrqClient(base_url=sandbox.url, api_key=sandbox.key) as orq:
        return {k: orq.invoke(k, messages=[{"role": "user", "content": QUESTION}])["choices"][0]["message"]["content"]
                for k in keys}


def test_saved_notebook_holds_one_rendered_comparison_in_column_order(sandbox_env):
    keys = ["summarizer", "support-bot", "code-helper"]
    notebook, client = run(["%load_ext orqmagic", f"%%invoke {' '.join(keys)} -o cmp\n{QUESTION}",
                            "print(cmp.labels, [r.complete for r in cmp.results.values()])"])
    outputs = notebook.cells[1].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data"
    markdown, text = outputs[0].data["text/markdown"], outputs[0].data["text/plain"]
    expected = answers(sandbox_env, *keys)
    starts = [markdown.index(f"**{key}**") for key in keys]
    assert starts == sorted(starts), "columns are not in the order given"
    for key in keys:
        assert contain_headings(expected[key]) in markdown and expected[key] in text  # headings kept off the outline
    assert markdown.count('class="orqmagic-column"') == 3 and "flex-wrap:wrap" in markdown
    assert "▍" not in markdown and "waiting for the first token" not in markdown
    assert "fastest:" in markdown and markdown.count('class="orqmagic-diff"') == 1
    assert markdown.index('class="orqmagic-diff"') > markdown.rindex('class="orqmagic-column"')
    assert [text.index(f"── {key} ──") for key in keys] == sorted(text.index(f"── {key} ──") for key in keys)
    assert notebook.cells[2].outputs[0].text.strip() == f"{keys} [True, True, True]"
    shown = [m for m in client.messages if m["msg_type"] == "display_data" and m["parent_header"].get("msg_id")]
    assert len([m for m in shown if "orqmagic-compare" in m["content"]["data"].get("text/markdown", "")]) == 1


def test_columns_show_placeholders_then_grow_with_bounded_updates(sandbox_env):
    sandbox_env.set_faults("token_rate=400")
    words = " ".join(f"word{i}" for i in range(1200))
    notebook, client = run(["%load_ext orqmagic", f'%%invoke support-bot summarizer code-helper --mock "{words}" -o cmp\nhi'])
    messages = [m for m in client.messages if m["msg_type"] in ("display_data", "update_display_data")
                and "orqmagic-compare" in m["content"]["data"].get("text/markdown", "")]
    first, interim, final = messages[0], messages[1:-1], messages[-1]
    assert first["msg_type"] == "display_data"
    assert first["content"]["data"]["text/markdown"].count("waiting for the first token") == 3
    assert len(interim) >= 2, "the columns did not visibly grow"
    grown = [len(re.findall(r"word\d+", m["content"]["data"]["text/markdown"])) for m in interim]
    assert max(grown) > min(grown)
    for msg in interim:
        assert len(msg["content"]["data"]["text/markdown"]) <= TAIL_CHARS + 3_000, "an update re-sent more than the tails"
    assert final["content"]["data"]["text/markdown"].count(words) == 3
    assert len(notebook.cells[1].outputs) == 1


def test_a_failing_column_shows_its_error_line_and_the_others_their_answers(sandbox_env):
    notebook, _ = run(["%load_ext orqmagic", f"%%invoke support-bot sumarizer -o cmp\n{QUESTION}",
                       "print(cmp['sumarizer'].error)"])
    outputs = notebook.cells[1].outputs
    assert len(outputs) == 1
    markdown = outputs[0].data["text/markdown"]
    assert contain_headings(answers(sandbox_env, "support-bot")["support-bot"]) in markdown
    markdown = markdown.lower()
    assert "did you mean &#x27;summarizer&#x27;?" in markdown or "did you mean 'summarizer'?" in markdown
    line = notebook.cells[2].outputs[0].text.lower()
    assert "did you mean 'summarizer'?" in line and line.count("did you mean") == 1


class InterruptingClient(RecordingClient):
    """Interrupts the kernel (as the stop button does) once the comparison shows text in every column."""

    interrupted = False

    def process_message(self, msg, cell, cell_index):
        out = super().process_message(msg, cell, cell_index)
        if not self.interrupted and msg["msg_type"] == "update_display_data":
            body = msg["content"]["data"].get("text/markdown", "")
            if body.count("▍") == 3 and "waiting for the first token" not in body:
                self.interrupted = True
                self.interrupt_task = asyncio.ensure_future(self.km.interrupt_kernel())
        return out


def test_interrupt_keeps_every_partial_answer_and_ends_with_one_line(sandbox_env):
    sandbox_env.set_faults("token_rate=20")
    cells = ["%load_ext orqmagic", f"%%invoke support-bot summarizer code-helper -o cut\n{QUESTION}",
             "print([(r.interrupted, len(r.text) > 0) for r in cut.results.values()])"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = InterruptingClient(notebook, timeout=120, kernel_name="python3", allow_errors=True)
    client.execute()
    assert client.interrupted
    outputs = notebook.cells[1].outputs
    assert [o.output_type for o in outputs] == ["display_data", "error"]
    markdown = outputs[0].data["text/markdown"]
    assert "stopped early (3 of 3 columns), partial answers kept" in markdown and "▍" not in markdown
    assert markdown.count("interrupted") == 1  # the stop is reported once, above the columns
    assert len(outputs[1].traceback) == 1 and "partial answers kept in cut" in outputs[1].traceback[0]
    assert notebook.cells[2].outputs[0].text.strip() == "[(True, True), (True, True), (True, True)]"
