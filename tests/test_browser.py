"""JupyterLab in a real browser: an answer grows while it streams, and the MetricsPanel responds to clicks.

JupyterLab is served on 127.0.0.1 with its own HOME and Jupyter dirs; Debian's Chromium
(``apt-get install chromium``) is driven headless by Playwright. Requests to anything but
the loopback address are blocked. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import nbformat
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed: apt-get install chromium"),
]

CELLS = [
    "%load_ext orqmagic",
    "%%invoke support-bot -o answer\nHow do I rotate my API key and keep old integrations working?",
    "import orqmagic\npanel = orqmagic.MetricsPanel('llama-chat', 'prod-v3')\npanel",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sandbox):
    root = tmp_path_factory.mktemp("lab")
    work = root / "work"
    work.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS],
                                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}),
                   work / "browser-demo.ipynb")
    labconfig = root / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}')  # no news prompt
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "ORQ", "BASETEN", "GALTEA"))}
    env.update(HOME=str(root), JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_DATA_DIR=str(root / "data"),
               JUPYTER_RUNTIME_DIR=str(root / "runtime"), ORQMAGIC_OUTBOX=str(root / "outbox.jsonl"))
    for service in ("ORQ", "BASETEN", "GALTEA"):
        env[f"{service}_BASE_URL"], env[f"{service}_API_KEY"] = sandbox.url, sandbox.key
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--ServerApp.port_retries=0"]
    log = open(root / "lab.log", "w")  # noqa: SIM115 - kept open for the server's lifetime
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
            raise RuntimeError("JupyterLab did not start:\n" + (root / "lab.log").read_text()[-3000:])
        time.sleep(0.3)
    yield {"url": f"{base}/lab/tree/browser-demo.ipynb?token={token}", "root": root}
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
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
        page.goto(lab["url"])
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => e.textContent.includes('Idle'))",
            timeout=90_000,
        )
        page.blocked = blocked
        yield page
        browser.close()


def run_cell(page, index: int) -> None:
    cell = page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def output_text(page, index: int) -> str:
    outputs = page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index).locator(".jp-OutputArea-output")
    return " ".join(outputs.all_inner_texts())


def test_invoke_text_grows_while_it_streams(page, sandbox):
    ARTIFACTS.mkdir(exist_ok=True)
    sandbox.set_faults("token_rate=25")
    try:
        run_cell(page, 0)
        run_cell(page, 1)
        lengths, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            text = output_text(page, 1)
            lengths.append(len(text))
            if len(lengths) == 12:
                page.screenshot(path=str(ARTIFACTS / "invoke-streaming.png"))
            if "latency" in text and "tokens" in text:
                break
            time.sleep(0.1)
    finally:
        sandbox.set_faults(None)
    final = output_text(page, 1)
    growing = sorted({n for n in lengths if n > 0})
    assert len(growing) >= 5, f"the answer did not visibly grow: {lengths}"
    assert "Rotate Api Key" in final and "support-bot · openai/gpt-4o-mini" in final
    assert page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(1).locator(".jp-OutputArea-output").count() == 1
    assert page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(1).locator("h2").count() >= 1  # rendered Markdown
    page.screenshot(path=str(ARTIFACTS / "invoke-final.png"))


def test_metrics_panel_renders_and_refreshes(page):
    run_cell(page, 2)
    panel = page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(2)
    image = panel.locator(".widget-image")
    image.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("el => el.naturalWidth > 0", arg=image.element_handle())
    first_src = image.get_attribute("src")
    assert "steps" in panel.locator(".widget-html").first.inner_text() or "metrics" in panel.inner_text()
    page.screenshot(path=str(ARTIFACTS / "metrics-panel.png"), full_page=True)
    panel.locator(".widget-dropdown select").nth(2).select_option("7d")
    panel.locator("button", has_text="Refresh").click()
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old && el.naturalWidth > 0",
                           arg=[image.element_handle(), first_src], timeout=60_000)
    page.wait_for_function("el => el.innerText.includes('169 steps') || el.innerText.includes('168 steps')",
                           arg=panel.element_handle(), timeout=60_000)
    panel.screenshot(path=str(ARTIFACTS / "metrics-panel-7d.png"))


def test_no_request_left_the_machine(page):
    assert all(urlparse(u).hostname not in (None, "") for u in page.blocked)  # recorded, and none was let through
    shutil.rmtree(ARTIFACTS / "tmp", ignore_errors=True)
