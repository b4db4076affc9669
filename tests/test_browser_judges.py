"""JupyterLab light and dark in a real browser: a pairwise judgement settles into the sentence and its table.

Reuses the server and page helpers of ``test_browser.py``. Screenshots land in
``test-artifacts/lab-<theme>-pairwise.png``, to be looked at.
"""

from __future__ import annotations

import time

import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, cells, open_page, output_text, run_all, start_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed: apt-get install chromium"),
]

CELLS = [
    "%load_ext orqmagic\n%config OrqMagic.judge_deployment = 'judge-bot'",
    "import pandas as pd\ncases = pd.DataFrame({'question': ['How do I rotate my API key?', 'How do refunds work?',\n"
    "    'What are the rate limits?', 'How do exports work?', 'How do webhooks work?', 'How is usage billed?']})",
    '%%invoke summarizer support-bot --over cases --pairwise "Which answer is more complete?" -o duel\n{{question}}',
]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_pairwise_output_reads_on_both_themes(theme, tmp_path_factory, sandbox):
    ARTIFACTS.mkdir(exist_ok=True)
    with start_server(tmp_path_factory.mktemp(f"judges-{theme}"), sandbox, theme=theme, cells=CELLS) as server, \
            open_page(server["url"]) as page:
        page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel .jp-Cell .jp-InputArea').length "
                               f"=== {len(CELLS)}", timeout=90_000)
        run_all(page)
        deadline = time.monotonic() + 180
        while "flipped with order" not in output_text(page, 2):
            assert time.monotonic() < deadline, output_text(page, 2)
            time.sleep(0.2)
        output = cells(page).nth(2).locator(".orqmagic-pairwise")
        text = output.inner_text()
        assert "support-bot" in text and "summarizer" in text and "sign test" in text and "95% CI" in text
        # the sentence is in the theme's own text colour: it contrasts with the page on light and on dark
        colours = page.evaluate("""() => {
            const p = document.querySelector('.orqmagic-pairwise p');
            const bg = getComputedStyle(document.querySelector('.jp-NotebookPanel')).backgroundColor;
            return [getComputedStyle(p).color, bg];
        }""")
        luminance = [sum(int(v) for v in c[c.index("(") + 1:c.index(")")].split(",")[:3]) / 3 for c in colours]
        assert abs(luminance[0] - luminance[1]) > 100, colours
        page.set_viewport_size({"width": 1280, "height": 1600})
        cells(page).nth(2).scroll_into_view_if_needed()
        cells(page).nth(2).screenshot(path=str(ARTIFACTS / f"lab-{theme}-pairwise.png"))
