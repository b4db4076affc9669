"""A saved notebook tells the truth without a kernel: run one in a real kernel, use every widget, convert it to
HTML with nbconvert (what nbviewer and, roughly, GitHub show) and read each widget's saved output back.

Each widget settles in a later cell (a score sent, a column preferred, a metric created, the panel given a 4th
metric and another mode); the saved output must describe that state, not the first render, and no output may
fall back to a widget repr.
"""

from __future__ import annotations

import html
import re

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
QUESTION = "How do I rotate my API key and keep old integrations working?"
CELLS = [
    "%load_ext orqmagic\nimport orqmagic\nfrom orqmagic.widgets.prefer import PreferBar",
    f"%%invoke support-bot -o answer\n{QUESTION}",
    "fb = orqmagic.FeedbackPanel(answer)\nfb",
    "fb.comment.value = 'clear steps'\nfb.up.click()",
    f"%%invoke support-bot summarizer -o cmp\n{QUESTION}",
    "bar = PreferBar(cmp)\nbar",
    "bar.buttons['summarizer'].click()",
    "form = orqmagic.MetricForm()\nform",
    "form.name.value = 'Groundedness'\nform.judge_prompt.value = 'Score 1 if the answer is grounded'\n"
    "created = form.create()",
    "panel = orqmagic.MetricsPanel('llama-chat', 'prod-v3')\npanel",
    "panel.metrics.value = (*panel.metrics.value, 'baseten_gpu_utilization')\npanel.mode.value = 'CURRENT'\n"
    "panel.wait()",
    "print(answer.id, created['id'])",
]


def saved_outputs(page: str) -> list[str]:
    """The text of every widget's static output in the HTML, in order."""
    blocks = re.findall(r'<div class="orqmagic-saved orqmagic-saved-[0-9a-f]+"[^>]*>(.*?)</div>', page, re.S)
    return [" ".join(html.unescape(re.sub(r"<(?!br)[^>]+>", "", re.sub(r"<br/?>", " ", b))).split()) for b in blocks]


def test_every_widget_saves_its_settled_state_as_html_and_text(sandbox_env, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS],
                                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    NotebookClient(notebook, timeout=180, kernel_name="python3").execute()
    answer_id, metric_id = notebook.cells[-1].outputs[0].text.split()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    saved = nbformat.read(path, as_version=4)  # as a front end reopens it, with no widget state

    for index in (2, 5, 7, 9):  # each widget: the view (no repr) and its static output (HTML and text)
        view, static = saved.cells[index].outputs
        assert WIDGET_VIEW in view.data and "text/plain" not in view.data, view.data
        assert {"text/html", "text/plain"} <= set(static.data)

    page, _ = HTMLExporter().from_notebook_node(saved)
    assert "children=(" not in page and "Error displaying widget" not in page  # no repr anywhere
    feedback, prefer, form, panel = saved_outputs(page)
    assert feedback == f"Feedback for {answer_id}: ✓ sent (score 100) · comment: clear steps"
    assert prefer == "Preference between support-bot, summarizer: ✓ preferred summarizer (score 100, others 0)"
    assert form.startswith(f"MetricForm: ✓ created Groundedness {metric_id} in family ")
    assert '"name": "Groundedness"' in form  # the body that was sent
    assert panel.startswith("MetricsPanel: llama-chat / prod-v3 · 4 metrics · now · updated ")  # its current state
    assert re.search(r"metrics: replicas active, .*, gpu utilization · \d+ rows$", panel)  # ticked last, last
    panel_html = saved.cells[9].outputs[1].data["text/html"]
    assert "data:image/png;base64," in panel_html  # a small picture of the current plot
    assert saved.cells[9].outputs[1].data["text/plain"] in html.unescape(panel_html)  # the summary line, in the HTML


def test_answers_in_the_html_keep_monospace_code_and_no_headings(sandbox_env):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS[:2] + CELLS[4:5]],
                                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    NotebookClient(notebook, timeout=180, kernel_name="python3").execute()
    page, _ = HTMLExporter().from_notebook_node(notebook)
    outputs = "".join(re.findall(r'<div class="jp-OutputArea jp-Cell-outputArea">(.*?)\n</div>\n</div>', page, re.S))
    assert "Rotate Api Key" in outputs and 'role="heading"' in outputs
    assert not re.search(r"<h[1-6][ >]", outputs)  # nothing for the Table of Contents to collect
    assert outputs.count('<div class="orqmagic-answer">') == 2  # the answer, the comparison
    assert re.search(r"\.orqmagic-answer pre[^{]*\{font-family: var\(--jp-code-font-family, [^}]*monospace\)", outputs)
    assert re.search(r'<div class="orqmagic-answer">.*<pre>', outputs, re.S)  # the code block inside the scope
