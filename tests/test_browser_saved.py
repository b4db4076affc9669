"""Saved and reopened, in a real browser: JupyterLab light and dark and Notebook 7 run a notebook with every
widget, the widgets are used (a thumb clicked, a column preferred, a metric created, a 4th metric ticked), the
notebook is saved, its kernel shut down and the page reloaded, as when someone opens it tomorrow.

Reopened, each widget's place shows its static output with the state it settled in (score sent, column
preferred, metric created, the panel's 4 metrics) and no "Error displaying widget: model not found". While
live, the static outputs stay out of sight and answers put no heading in the outline.

Screenshots (live and reopened, per front end and theme) land in ``test-artifacts/``, to be looked at.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, kernel_connected, open_page, run_all, start_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed: apt-get install chromium"),
]

QUESTION = "How do I rotate my API key and keep old integrations working?"
CELLS = [
    "%load_ext orqmagic\nimport orqmagic",
    f"%%invoke support-bot -o answer --feedback\n{QUESTION}",
    f"%%invoke support-bot summarizer -o cmp --feedback\n{QUESTION}",
    "form = orqmagic.MetricForm()\nform",
    "form.name.value = 'Groundedness'\nform.judge_prompt.value = 'Score 1 if the answer is grounded'\n"
    "created = form.create()",
    "panel = orqmagic.MetricsPanel('llama-chat', 'prod-v3')\npanel",
]
NOTEBOOK = "saved-demo.ipynb"
VARIANTS = [("lab", "light"), ("lab", "dark"), ("notebook", "light")]
EMOJI = "✅👍👎⏳⬇"


def cell(page, index: int):
    return page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index)


def wait_text(page, index: int, text: str, timeout: float = 90_000) -> None:
    page.wait_for_function("([el, text]) => el.innerText.includes(text)", arg=[cell(page, index).element_handle(), text],
                           timeout=timeout)


def wait_saved(page, index: int, text: str) -> None:
    """Wait until the (hidden) static output of cell ``index`` says ``text``: the widget has settled."""
    page.wait_for_function("([el, text]) => [...el.querySelectorAll('.orqmagic-saved')].some(s => s.textContent.includes(text))",
                           arg=[cell(page, index).element_handle(), text], timeout=90_000)


def saved_texts(path: Path) -> list[str]:
    """The text/plain of every static output in the notebook file."""
    notebook = json.loads(path.read_text())
    return [o["data"]["text/plain"] if isinstance(o["data"]["text/plain"], str) else "".join(o["data"]["text/plain"])
            for c in notebook["cells"] for o in c.get("outputs", [])
            if "text/html" in o.get("data", {}) and "orqmagic-saved" in "".join(o["data"]["text/html"])]


def shoot(page, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 3200})  # every cell in view
    page.wait_for_timeout(300)  # let layout settle after the resize (a screenshot only, no assertion waits on it)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 1000})


def save(page, path: Path) -> None:
    """File > Save Notebook (the same menu in Lab and Notebook 7), asked again if the file did not change."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = path.stat().st_mtime_ns
    for _ in range(4):
        page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
        page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Save( Notebook)?$")).first.click()
        deadline = time.monotonic() + 15
        while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        if path.stat().st_mtime_ns != before:
            return
        with contextlib.suppress(PlaywrightTimeout):
            page.keyboard.press("Escape")  # a menu left open
    raise AssertionError("the notebook was not saved")


def reopen_without_kernel(page, url: str) -> None:
    """Leave the page, shut the notebook's session and kernel down, and open the notebook again."""
    parts = urlparse(url)
    base = f"{parts.scheme}://{parts.netloc}"
    auth = {"Authorization": f"token {parse_qs(parts.query)['token'][0]}"}  # a DELETE with a cookie needs an XSRF token
    page.goto("about:blank")
    for session in page.request.get(f"{base}/api/sessions", headers=auth).json():
        response = page.request.delete(f"{base}/api/sessions/{session['id']}", headers=auth)
        assert response.ok, response.status
    deadline = time.monotonic() + 60
    while page.request.get(f"{base}/api/kernels", headers=auth).json():
        assert time.monotonic() < deadline, "the kernel did not shut down"
        time.sleep(0.2)
    page.goto(url)


@pytest.fixture(scope="module", params=VARIANTS, ids=[f"{a}-{t}" for a, t in VARIANTS])
def used(request, tmp_path_factory, sandbox):
    """The notebook run and every widget used in the browser, then saved: (page, server, file)."""
    app, theme = request.param
    ARTIFACTS.mkdir(exist_ok=True)
    with start_server(tmp_path_factory.mktemp(f"saved-{app}-{theme}"), sandbox, app=app, theme=theme, cells=CELLS,
                      notebook=NOTEBOOK) as server, open_page(server["url"]) as page:
        page.name = f"saved-{app}-{theme}"
        page.wait_for_function(f"() => document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length === {len(CELLS)}",
                               timeout=90_000)
        run_all(page)
        wait_text(page, 5, "updated")  # the last cell: the panel drew its first plot
        cell(page, 1).locator("button[title='good answer (score 100)']").click()
        wait_saved(page, 1, "sent (score 100)")
        cell(page, 2).locator("button", has_text="prefer summarizer").click()
        wait_saved(page, 2, "preferred summarizer")
        cell(page, 5).locator(".widget-checkbox", has_text="gpu utilization").locator("input").check()
        wait_saved(page, 5, "4 metrics")
        path = server["root"] / "work" / NOTEBOOK
        save(page, path)
        shoot(page, f"{page.name}-live")
        yield page, server, path


def test_live_static_outputs_stay_hidden_and_answers_keep_out_of_the_outline(used):
    page, _, _ = used
    saved = page.locator(".jp-NotebookPanel:visible .orqmagic-saved")
    assert saved.count() == 4  # feedback, prefer, form, panel
    assert not any(saved.nth(i).is_visible() for i in range(4))  # the widgets show; their static outputs wait
    outputs = page.locator(".jp-NotebookPanel:visible .jp-OutputArea")
    assert outputs.locator("h1, h2, h3, h4, h5, h6").count() == 0
    assert outputs.locator("[role=heading]", has_text="Rotate Api Key").count() >= 1
    font = page.locator(".jp-NotebookPanel:visible .orqmagic-answer pre").first.evaluate(
        "el => getComputedStyle(el).fontFamily")
    assert "mono" in font.lower()
    assert not [c for c in EMOJI if c in outputs.first.evaluate("el => el.closest('.jp-Notebook').innerText")]


@pytest.mark.parametrize("width", [700, 1600])
def test_panel_plot_is_vector_and_follows_the_output_width(used, width):
    page, _, _ = used
    page.set_viewport_size({"width": width, "height": 1400})
    plot = cell(page, 5).locator(".widget-image")
    plot.scroll_into_view_if_needed()
    page.wait_for_function("el => el.naturalWidth > 0", arg=plot.element_handle())
    assert plot.get_attribute("src").startswith("blob:") and plot.evaluate("el => el.src") is not None
    shown, room = plot.evaluate("el => [el.getBoundingClientRect().width, el.parentElement.getBoundingClientRect().width]")
    assert shown <= room + 1 and (shown >= room - 2 or shown >= 1099)  # the output's width, up to 1100 px
    cell(page, 5).screenshot(path=str(ARTIFACTS / f"{page.name}-panel-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 1000})


def test_saved_file_describes_each_widget_as_it_settled(used):
    _, _, path = used
    feedback, prefer, form, panel = saved_texts(path)
    assert feedback.startswith("Feedback for ") and feedback.endswith(": ✓ sent (score 100)")
    assert prefer.startswith("Preference between support-bot, summarizer: ✓ preferred summarizer")
    assert form.startswith("MetricForm: created metric Groundedness (")
    assert panel.startswith("MetricsPanel: llama-chat / prod-v3 · 4 metrics · 24h series · updated ")


def test_reopened_without_a_kernel_each_widget_shows_its_static_output(used):
    page, server, _ = used
    reopen_without_kernel(page, server["url"])
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    deadline = time.monotonic() + 120
    while not kernel_connected(page):  # the new kernel, which knows none of the old widgets
        assert time.monotonic() < deadline, "no kernel after reopening"
        time.sleep(0.25)
    page.wait_for_function("() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]"
                           ".filter(o => o.textContent.includes('Error displaying widget')).length === 4",
                           timeout=90_000)  # the front end has given up on the four widgets
    saved = page.locator(".jp-NotebookPanel:visible .orqmagic-saved")
    saved.first.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel .orqmagic-saved img').length === 1 && "
                           "[...document.querySelectorAll('.jp-NotebookPanel .orqmagic-saved img')]"
                           ".every(i => i.naturalWidth > 0)")
    shoot(page, f"{page.name}-reopened")
    texts = [saved.nth(i).inner_text() for i in range(saved.count())]
    assert len(texts) == 4 and all(saved.nth(i).is_visible() for i in range(4)), texts
    feedback, prefer, form, panel = (" ".join(t.split()) for t in texts)
    assert "sent (score 100)" in feedback
    assert "preferred summarizer (score 100, others 0)" in prefer
    assert "created Groundedness" in form and '"name": "Groundedness"' in form
    assert "4 metrics · 24h series" in panel and "gpu utilization" in panel
    notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
    visible_errors = notebook.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    assert not any(visible_errors.nth(i).is_visible() for i in range(visible_errors.count()))
