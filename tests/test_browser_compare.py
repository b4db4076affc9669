"""JupyterLab in a real browser: a three-column comparison grows live, in light and dark, and stacks when narrow.

Reuses the JupyterLab server and Chromium page of ``test_browser.py``; this module
opens its own notebook in that server. Screenshots land in ``test-artifacts/``
(``compare-light.png`` and ``compare-dark.png`` are the README's: copy them to ``docs/`` by hand when they change;
a test never rewrites a tracked file).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, lab, page, run_cell  # noqa: F401 - fixtures used by name

KEYS = ["support-bot", "summarizer", "code-helper"]
CELLS = ["%load_ext orqmagic", f"%%invoke {' '.join(KEYS)} -o cmp\nHow do I rotate my API key and keep old integrations working?"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed: apt-get install chromium"),
]


@pytest.fixture(scope="module")
def compare_page(lab, page):  # noqa: F811 - the imported fixtures
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS],
                                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}),
                   lab["root"] / "work" / "compare-demo.ipynb")
    # A workspace of its own, so JupyterLab opens this notebook instead of restoring the other one.
    page.goto(lab["url"].replace("/lab/tree/browser-demo.ipynb", "/lab/workspaces/compare/tree/compare-demo.ipynb"))
    page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:has-text('compare-demo.ipynb')", timeout=90_000)
    page.wait_for_selector(".jp-NotebookPanel:visible .jp-Cell", timeout=90_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => e.textContent.includes('Idle'))",
        timeout=90_000,
    )
    return page


def columns(pg):
    return pg.locator(".jp-NotebookPanel:visible .jp-Cell").nth(1).locator(".orqmagic-column")


def column_lengths(pg) -> list[int]:
    return pg.evaluate("""() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .orqmagic-column')]
                              .map(e => e.innerText.length)""")


def shoot_cell(pg, path: Path) -> None:
    """The whole comparison cell, in a viewport tall enough to hold it."""
    pg.set_viewport_size({"width": 1280, "height": 2000})
    try:
        cell = pg.locator(".jp-NotebookPanel:visible .jp-Cell").nth(1)
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(path))
    finally:
        pg.set_viewport_size({"width": 1280, "height": 1000})


def set_theme(pg, name: str, light: bool) -> None:
    pg.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    pg.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    pg.locator(".lm-Menu-itemLabel", has_text=name).first.click()
    pg.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{str(light).lower()}'", timeout=30_000)
    pg.wait_for_timeout(500)  # let the theme's stylesheet settle before a screenshot (not an assertion)


def test_three_columns_grow_side_by_side_then_settle(compare_page, sandbox):
    pg = compare_page
    ARTIFACTS.mkdir(exist_ok=True)
    sandbox.set_faults("token_rate=25")
    samples: list[list[int]] = []
    try:
        run_cell(pg, 0)
        run_cell(pg, 1)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            lengths = column_lengths(pg)
            if len(lengths) == 3:
                samples.append(lengths)
                if len(samples) == 15:
                    pg.screenshot(path=str(ARTIFACTS / "compare-streaming.png"))
            output = pg.locator(".jp-NotebookPanel:visible .jp-Cell").nth(1).locator(".jp-OutputArea-output")
            if output.count() and "fastest:" in output.first.inner_text():
                break
            time.sleep(0.1)
    finally:
        sandbox.set_faults(None)
    for index, key in enumerate(KEYS):
        grown = sorted({sample[index] for sample in samples})
        assert len(grown) >= 4, f"column {key} did not visibly grow: {[s[index] for s in samples]}"
    cell = pg.locator(".jp-NotebookPanel:visible .jp-Cell").nth(1)
    assert cell.locator(".jp-OutputArea-output").count() == 1
    texts = [columns(pg).nth(i).inner_text() for i in range(3)]
    for key, text in zip(KEYS, texts, strict=True):
        assert text.startswith(key) and f"{key} · " in text and "latency" in text  # its own header and footer
        assert "Rotate Api Key" in text and "▍" not in text
    boxes = [columns(pg).nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"] and abs(boxes[0]["y"] - boxes[2]["y"]) < 2  # side by side
    assert cell.locator(".orqmagic-diff del").count() >= 1 and cell.locator(".orqmagic-diff ins").count() >= 1
    shoot_cell(pg, ARTIFACTS / "compare-light.png")


def test_dark_theme_keeps_the_comparison_readable(compare_page):
    pg = compare_page
    set_theme(pg, "JupyterLab Dark", light=False)
    try:
        colours = pg.evaluate("""el => { const s = getComputedStyle(el); const b = getComputedStyle(document.body);
                                    return [s.color, b.backgroundColor]; }""", columns(pg).nth(0).element_handle())
        text_rgb = [int(v) for v in colours[0][colours[0].index("(") + 1:-1].split(",")[:3]]
        assert sum(text_rgb) / 3 > 150, f"column text is dark on a dark theme: {colours}"
        shoot_cell(pg, ARTIFACTS / "compare-dark.png")
    finally:
        set_theme(pg, "JupyterLab Light", light=True)


def test_narrow_screens_stack_the_columns(compare_page):
    pg = compare_page
    pg.set_viewport_size({"width": 640, "height": 1000})
    try:
        pg.wait_for_function("""() => { const c = [...document.querySelectorAll(
                                   '.jp-NotebookPanel:not(.lm-mod-hidden) .orqmagic-column')];
                                   return c.length === 3 && c[1].getBoundingClientRect().top > c[0].getBoundingClientRect().bottom - 1; }""")
        boxes = [columns(pg).nth(i).bounding_box() for i in range(3)]
        assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
        pg.screenshot(path=str(ARTIFACTS / "compare-narrow.png"))
    finally:
        pg.set_viewport_size({"width": 1280, "height": 1000})
        shutil.rmtree(ARTIFACTS / "tmp", ignore_errors=True)
