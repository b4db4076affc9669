"""JupyterLab (light and dark) and Notebook 7 in a real browser: the quickstart streams, the MetricsPanel
shows its state, and everything stays readable on both themes.

Servers run on 127.0.0.1 with their own HOME and Jupyter dirs; Debian's Chromium (``apt-get install
chromium``) is driven headless by Playwright. Requests to anything but the loopback address are blocked.
Screenshots land in ``test-artifacts/`` (one set per front end and theme), to be looked at.

Helpers other browser tests import: ``free_port``, ``start_server``, ``open_page``, ``run_cell``,
``output_text``, the ``lab`` and ``page`` fixtures (JupyterLab, light theme, with ``CELLS``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import nbformat
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed: apt-get install chromium"),
]

CELLS = [
    "%load_ext orqmagic",
    "%%invoke support-bot -o answer\nHow do I rotate my API key and keep old integrations working?",
    "import orqmagic\npanel = orqmagic.MetricsPanel('llama-chat', 'prod-v3')\npanel",
]
PANEL_CELL = "import orqmagic\npanel = orqmagic.MetricsPanel('llama-chat', 'prod-v3')\npanel"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(path: Path, cells: list[nbformat.NotebookNode]) -> None:
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                                                  "display_name": "Python 3"}}), path)


@contextlib.contextmanager
def start_server(root: Path, sandbox, *, app: str = "lab", theme: str = "light",
                 cells: list[str] | None = None, notebook: str = "browser-demo.ipynb") -> Iterator[dict]:
    """JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) on a free loopback port, in ``theme``,
    serving one notebook made of ``cells`` (code cells) or a copy of the quickstart with the panel appended."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    if cells is not None:
        write_notebook(work / notebook, [nbformat.v4.new_code_cell(c) for c in cells])
    else:
        quickstart = nbformat.read(QUICKSTART, as_version=4)
        for cell in quickstart.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        write_notebook(work / notebook, [*quickstart.cells, nbformat.v4.new_code_cell(PANEL_CELL)])
    config = root / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}')  # no news prompt
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "themes.jupyterlab-settings").write_text(json.dumps({"theme": THEMES[theme]}))
    tracker = settings.parent / "notebook-extension"
    tracker.mkdir(exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))  # every cell in the DOM
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "ORQ", "BASETEN", "GALTEA"))}
    env.update(HOME=str(root), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(root / "data"),
               JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(config / "lab" / "user-settings"),
               ORQMAGIC_HOME=str(root / "orqmagic"))  # never the user's real store
    for service in ("ORQ", "BASETEN", "GALTEA"):
        env[f"{service}_BASE_URL"], env[f"{service}_API_KEY"] = sandbox.url, sandbox.key
    module = "jupyterlab" if app == "lab" else "notebook"
    command = [sys.executable, "-m", module, "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
               "--ServerApp.port_retries=0"]
    if app == "lab":
        command += ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log_path = root / f"{app}.log"
    log = open(log_path, "w")  # noqa: SIM115 - kept open for the server's lifetime
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base}/api/status", params={"token": token}, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{module} did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.3)
    path = "lab/tree" if app == "lab" else "notebooks"
    try:
        yield {"url": f"{base}/{path}/{notebook}?token={token}", "root": root, "app": app, "theme": theme}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def open_page(url: str, *, width: int = 1280, height: int = 1000) -> Iterator:
    """Chromium on ``url`` with every non-loopback request blocked (``page.blocked`` lists them)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": width, "height": height})
        blocked: list[str] = []

        def only_loopback(route):
            host = urlparse(route.request.url).hostname
            if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
        page.blocked = blocked
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sandbox):
    with start_server(tmp_path_factory.mktemp("lab"), sandbox, cells=CELLS) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab):
    with open_page(lab["url"]) as page:
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => e.textContent.includes('Idle'))",
            timeout=90_000)
        yield page


def cells(page):
    return page.locator(".jp-NotebookPanel:visible .jp-Cell")


def run_cell(page, index: int) -> None:
    cell = cells(page).nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def output_text(page, index: int) -> str:
    outputs = cells(page).nth(index).locator(".jp-OutputArea-output")
    return " ".join(outputs.all_inner_texts())


# -- JupyterLab light and dark, Notebook 7: the quickstart and the MetricsPanel --------------------------

VARIANTS = [("lab", "light"), ("lab", "dark"), ("notebook", "light")]


@pytest.fixture(scope="module", params=VARIANTS, ids=[f"{a}-{t}" for a, t in VARIANTS])
def ui(request, tmp_path_factory, sandbox):
    app, theme = request.param
    ARTIFACTS.mkdir(exist_ok=True)
    with start_server(tmp_path_factory.mktemp(f"{app}-{theme}"), sandbox, app=app, theme=theme) as server, \
            open_page(server["url"]) as page:
        page.name = f"{app}-{theme}"
        expected = len(nbformat.read(QUICKSTART, as_version=4).cells) + 1
        page.wait_for_function(f"() => document.querySelectorAll('.jp-NotebookPanel .jp-Cell .jp-InputArea').length "
                               f"=== {expected}", timeout=90_000)
        yield page


def kernel_connected(page) -> bool:
    """The server sees the page's kernel idle with a live websocket: an execute request now is not dropped."""
    base = "{0.scheme}://{0.netloc}".format(urlparse(page.url))
    answer = page.request.get(f"{base}/api/kernels")
    kernels = answer.json() if answer.ok else None
    if not isinstance(kernels, list):  # the server is not ready to say yet (a 403 before the login cookie, a 5xx)
        page.last_kernels_answer = f"{answer.status} {answer.text()[:200]}"
        return False
    return any(isinstance(k, dict) and k.get("connections", 0) >= 1 and k.get("execution_state") == "idle"
               for k in kernels)


def run_all(page) -> None:
    """Run > Run All Cells from the menu bar (the same menu in JupyterLab and Notebook 7), once the kernel is connected.

    A run asked for before the front end is connected to its kernel is dropped (every prompt stays ``[ ]``,
    nothing is queued), so it is asked again (rarely needed once the kernel reports a connection).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + 120
    while not kernel_connected(page):
        assert time.monotonic() < deadline, f"the kernel never connected ({getattr(page, 'last_kernels_answer', '')})"
        time.sleep(0.25)
    first_prompt = page.locator(".jp-NotebookPanel:visible .jp-CodeCell .jp-InputPrompt").first
    for _ in range(4):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function("el => /\\[(\\*|\\d+)\\]/.test(el.textContent)", arg=first_prompt.element_handle(),
                                   timeout=30_000)
            return
        except PlaywrightTimeout:  # not connected after all: ask again
            continue
    raise AssertionError("Run All Cells never started")


def code_index(page, marker: str) -> int:
    sources = cells(page).evaluate_all("els => els.map(e => e.querySelector('.jp-InputArea')?.textContent ?? '')")
    found = [i for i, text in enumerate(sources) if marker in text]
    assert found, f"no cell with {marker!r} among {sources}"
    return found[0]


def test_theme_is_applied(ui):
    dark = ui.name.endswith("dark")
    ui.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{'false' if dark else 'true'}'")


def test_quickstart_streams_and_settles(ui, sandbox):
    invoke = code_index(ui, "%%invoke {DEPLOYMENT}")
    sandbox.set_faults("token_rate=25")
    try:
        run_all(ui)
        lengths, deadline, placeholder = [], time.monotonic() + 180, False
        while time.monotonic() < deadline:
            text = output_text(ui, invoke)
            placeholder = placeholder or "waiting for the first token" in text
            lengths.append(len(text))
            if len(lengths) == 12:
                ui.screenshot(path=str(ARTIFACTS / f"{ui.name}-invoke-streaming.png"))
            if "latency" in text and "tokens" in text:
                break
            time.sleep(0.1)
    finally:
        sandbox.set_faults(None)
    final = output_text(ui, invoke)
    assert len(sorted({n for n in lengths if n > 0})) >= 5, f"the answer did not visibly grow: {lengths}"
    assert "Rotate Api Key" in final and "support-bot · openai/gpt-4o-mini" in final
    assert cells(ui).nth(invoke).locator(".jp-OutputArea-output").count() == 1
    assert cells(ui).nth(invoke).locator("[role=heading]").count() >= 1  # rendered Markdown, its heading contained
    assert cells(ui).nth(invoke).locator("h1, h2, h3, h4, h5, h6").count() == 0  # none for the Table of Contents
    report = code_index(ui, "answer.report_metrics()")
    ui.wait_for_function("el => el.innerText.includes('usage and timings sent')",
                         arg=cells(ui).nth(report).element_handle(), timeout=60_000)
    cells(ui).nth(invoke).screenshot(path=str(ARTIFACTS / f"{ui.name}-invoke.png"))
    ui.screenshot(path=str(ARTIFACTS / f"{ui.name}-quickstart.png"), full_page=True)


def test_metrics_panel_shows_its_state(ui):
    panel = cells(ui).nth(code_index(ui, "MetricsPanel("))
    ui.set_viewport_size({"width": 1280, "height": 1800})  # the whole panel in view for its screenshots
    image = panel.locator(".widget-image")
    image.wait_for(state="visible", timeout=90_000)
    ui.wait_for_function("el => el.naturalWidth > 0", arg=image.element_handle())
    panel.scroll_into_view_if_needed()
    assert "updated" in panel.locator(".widget-html").all_inner_texts().__str__()
    panel.screenshot(path=str(ARTIFACTS / f"{ui.name}-metrics-panel.png"))
    first_src = image.get_attribute("src")
    panel.locator(".widget-dropdown select").nth(2).select_option("7d")  # model, deployment, window
    ui.wait_for_function("el => el.classList.contains('orqmagic-stale')", arg=image.element_handle())  # greyed out
    ui.wait_for_function("([el, old]) => el.getAttribute('src') !== old && !el.classList.contains('orqmagic-stale')",
                         arg=[image.element_handle(), first_src], timeout=60_000)  # refreshed by itself
    ui.wait_for_function("el => el.innerText.includes('169 steps') || el.innerText.includes('168 steps')",
                         arg=panel.element_handle(), timeout=60_000)
    panel.screenshot(path=str(ARTIFACTS / f"{ui.name}-metrics-panel-7d.png"))
    ui.set_viewport_size({"width": 900, "height": 1000})
    widget = panel.locator(".orqmagic-panel")
    ui.wait_for_function("el => el.scrollWidth <= el.clientWidth + 1", arg=widget.element_handle())  # nothing clipped
    panel.screenshot(path=str(ARTIFACTS / f"{ui.name}-metrics-panel-900px.png"))
    ui.set_viewport_size({"width": 1280, "height": 1000})
    assert not [u for u in ui.blocked if urlparse(u).hostname in (None, "")]


def test_no_request_left_the_machine():
    shutil.rmtree(ARTIFACTS / "tmp", ignore_errors=True)
