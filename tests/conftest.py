"""Shared fixtures: one sandbox on 127.0.0.1 per test session, clean environment per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from orqmagic import Sandbox
from orqmagic.clients import BasetenClient, GalteaClient, OrqClient, RetryPolicy

ENV_VARS = (
    "ORQ_API_KEY", "BASETEN_API_KEY", "GALTEA_API_KEY", "ORQ_BASE_URL", "BASETEN_BASE_URL",
    "GALTEA_BASE_URL", "ORQMAGIC_SANDBOX", "ORQMAGIC_OUTBOX", "ORQMAGIC_HOME", "ORQMAGIC_CACHE_MAX_MB",
    "ORQMAGIC_CACHE_MAX_AGE_DAYS",
)
FAST_RETRY = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.05, timeout=10)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token_rate=0) as sb:
        yield sb


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path, request) -> Iterator[None]:
    """No real keys leak in, each test gets its own local store (and so outbox), and sandbox faults start cleared."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORQMAGIC_HOME", str(tmp_path / "home"))  # the store (outbox, cache, runs) is per test
    monkeypatch.setenv("ORQMAGIC_SANDBOX_TOKEN_RATE", "0")
    from orqmagic import config
    from orqmagic.clients import shared
    from orqmagic.store import outbox

    config._session.mode = "auto"
    config._session.keys.clear()
    shared.clear()
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").set_faults(None)
    yield
    for box in list(outbox._running):  # a background retry must not send into the next test
        box.wait()


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Point the environment (and so the magics and top-level functions) at the test sandbox."""
    for service in ("ORQ", "BASETEN", "GALTEA"):
        monkeypatch.setenv(f"{service}_BASE_URL", sandbox.url)
        monkeypatch.setenv(f"{service}_API_KEY", sandbox.key)
    return sandbox


@pytest.fixture
def orq(sandbox: Sandbox) -> Iterator[OrqClient]:
    with OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY) as client:
        yield client


@pytest.fixture
def baseten(sandbox: Sandbox) -> Iterator[BasetenClient]:
    with BasetenClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY) as client:
        yield client


@pytest.fixture
def galtea(sandbox: Sandbox) -> Iterator[GalteaClient]:
    with GalteaClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY) as client:
        yield client


def requests_since(sandbox: Sandbox, mark: int) -> list[dict]:
    return sandbox.requests()[mark:]


@pytest.fixture
def ip(sandbox_env: Sandbox):
    """An IPython shell with the extension loaded, talking to the test sandbox."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or get_ipython()
    shell.config.pop("OrqMagic", None)  # %config from an earlier test must not leak in
    shell.run_line_magic("load_ext", "orqmagic")
    yield shell
    shell.run_line_magic("unload_ext", "orqmagic")
    shell.config.pop("OrqMagic", None)
    shell.user_ns.pop("_", None)


os.environ.setdefault("MPLBACKEND", "Agg")
