"""The review queue in a real browser: ten cases scored with the keyboard only, in JupyterLab light and dark and
Notebook 7, and the scores found in the store.

Reuses the servers and Chromium of ``test_browser.py``. The queue takes the keyboard focus when it appears (no
click); every key is checked against the widget's own position line and the store. Screenshots land in
``test-artifacts/`` (``review-light.png``, ``review-dark.png``, ``review-saved.png``); they are copied to ``docs/``
by hand when the README's pictures should change, so a test run never rewrites a tracked file.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, cells, open_page, run_all, start_server

QUESTIONS = ["How do I rotate my API key?", "Why was I charged twice?", "How do refunds work?",
             "Can I export my data?", "How do I add a teammate?", "What are the rate limits?",
             "How do I delete my account?", "Is there an SLA?", "How do I change my plan?", "Where are invoices?"]
CELL = f"""import pandas as pd, orqmagic
cases = pd.DataFrame({{"question": {QUESTIONS!r}}})
results = orqmagic.invoke_many("support-bot", cases, prompt="{{{{question}}}}", progress=False)
queue = orqmagic.review(results, name="browser", scale=(1, 5),
                        metric={{"name": "Helpfulness", "judgePrompt": "5: solves the problem with correct steps. 1: wrong or off topic."}})
queue"""
KEYS = "4453544524"
VARIANTS = [("lab", "light"), ("lab", "dark"), ("notebook", "light")]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed: apt-get install chromium"),
]


@pytest.fixture(params=VARIANTS, ids=[f"{a}-{t}" for a, t in VARIANTS])
def review_page(request, tmp_path_factory, sandbox):
    app, theme = request.param
    ARTIFACTS.mkdir(exist_ok=True)
    root = tmp_path_factory.mktemp(f"review-{app}-{theme}")
    with start_server(root, sandbox, app=app, theme=theme, cells=[CELL], notebook="review-demo.ipynb") as server, \
            open_page(server["url"], height=1300) as page:
        page.name, page.root = f"{app}-{theme}", root
        yield page


def position(page) -> str:
    return page.locator(".orqmagic-review-header .orqmagic-position").inner_text()


def stored(root: Path) -> dict[int, int]:
    with sqlite3.connect(root / "orqmagic" / "orqmagic.sqlite3") as conn:
        return {int(c): int(s) for c, s in conn.execute("SELECT case_key, score FROM reviews WHERE queue = 'browser' "
                                                        "AND score IS NOT NULL")}


def test_ten_cases_scored_with_the_keyboard_only(review_page):
    page = review_page
    run_all(page)
    keybox = page.locator(".orqmagic-keybox input")
    keybox.wait_for(state="visible", timeout=120_000)
    page.wait_for_function("() => document.activeElement?.closest('.orqmagic-keybox') !== null", timeout=60_000)
    assert "1 of 10 · 0 scored" in position(page)
    assert not page.locator("[class*='orqmagic-saved-']").first.is_visible()  # the saved view hides while live
    page.locator(".orqmagic-review").screenshot(path=str(ARTIFACTS / f"{page.name}-review-first.png"))
    page.keyboard.press("c")  # the comment field, then back to the keys with Enter
    page.wait_for_function("() => document.activeElement?.closest('.orqmagic-review') !== null && "
                           "document.activeElement?.closest('.orqmagic-keybox') === null")
    page.keyboard.type("clear steps")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement?.closest('.orqmagic-keybox') !== null")
    for i, key in enumerate(KEYS):
        page.keyboard.press(key)
        if i + 2 <= len(KEYS):
            page.wait_for_function("n => document.querySelector('.orqmagic-review-header .orqmagic-position')"
                                   "?.innerText.includes(`${n} of 10`)", arg=i + 2)
        if i == 4:
            page.locator(".orqmagic-review").screenshot(path=str(ARTIFACTS / f"{page.name}-review.png"))
    page.wait_for_function("() => document.querySelector('.orqmagic-review-header')?.innerText.includes('10 scored')")
    assert stored(page.root) == {i: int(k) for i, k in enumerate(KEYS)}
    with sqlite3.connect(page.root / "orqmagic" / "orqmagic.sqlite3") as conn:
        assert conn.execute("SELECT comment FROM reviews WHERE case_key = '0'").fetchone()[0] == "clear steps"
    # The keys went to the queue, not to Jupyter: no cell was added, changed into Markdown or deleted.
    assert cells(page).count() == 1 and page.locator(".jp-MarkdownCell").count() == 0
    if page.name.startswith("lab"):
        theme = page.name.split("-")[1]
        page.locator(".orqmagic-review").screenshot(path=str(ARTIFACTS / f"review-{theme}.png"))
    # A mouse click on a button gives the keyboard back to the queue: the next key scores, it never reaches Jupyter.
    page.locator(".orqmagic-review button", has_text="back").click()
    page.wait_for_function("() => document.querySelector('.orqmagic-review-header .orqmagic-position')"
                           "?.innerText.includes('9 of 10')")
    page.wait_for_function("() => document.activeElement?.closest('.orqmagic-keybox') !== null")
    page.keyboard.press("3")
    page.wait_for_function("() => document.querySelector('.orqmagic-review-header .orqmagic-position')"
                           "?.innerText.includes('10 of 10')")
    assert stored(page.root)[8] == 3 and cells(page).count() == 1 and page.locator(".jp-MarkdownCell").count() == 0
    # What the saved notebook keeps: the progress and distribution, as HTML and text, not a widget placeholder.
    saved_file = page.root / "work" / "review-demo.ipynb"
    with page.expect_response(lambda r: r.request.method == "PUT" and "review-demo.ipynb" in r.url) as saving:
        page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()  # the same menu in Lab and Notebook 7
        page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Save( Notebook)?$")).first.click()
    assert saving.value.ok
    outputs = nbformat.read(saved_file, as_version=4).cells[0].outputs
    saved = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(saved) == 1 and "10 of 10 scored" in saved[0].data["text/html"]
    assert saved[0].data["text/plain"] == "ReviewQueue 'browser': 10 of 10 scored · Helpfulness 1: 0, 2: 0, 3: 2, 4: 5, 5: 3"
    if page.name == "lab-light":
        page.set_content(f"<body style='font-family:sans-serif;padding:12px'>{saved[0].data['text/html']}</body>")
        page.locator("body > div").screenshot(path=str(ARTIFACTS / "review-saved.png"))
    shutil.rmtree(ARTIFACTS / "tmp", ignore_errors=True)
