"""The secret sweep: canaries planted in the key AND in the base URL (userinfo, query, fragment), then searched for
in every output, repr, error, log, frame, pickle, verbose traceback, saved notebook and file of ORQMAGIC_HOME.

Each canary ends in a tail no encoding changes (letters and digits), so one search finds it raw, JSON-escaped or
URL-encoded. The key holds ``"`` and ``\\`` so that a server echoing it in JSON escapes it.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import traceback
import warnings
from pathlib import Path
from urllib.parse import quote

import httpx
import nbformat
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbclient import NotebookClient

import orqmagic
from orqmagic import OrqMagicError, Sandbox
from orqmagic.clients import BasetenClient, GalteaClient, OrqClient, RetryPolicy
from orqmagic.config import resolve
from tests.rogue import Reply, rogue_server

KEY = 'sk-canary"Key\\7Qx9ZpL2'
USER, PASSWORD, QUERY, FRAGMENT = "us-canary-Pd6Kf1Ge", "pw-canary-Hb3Tq8Ws", "qk-canary-Vn5Rj2Yd", "fr-canary-Zc4Mx7Lp"
TAILS = {"key": "7Qx9ZpL2", "user": "Pd6Kf1Ge", "password": "Hb3Tq8Ws", "query": "Vn5Rj2Yd", "fragment": "Zc4Mx7Lp"}
ONE_TRY = RetryPolicy(attempts=1)
PACKAGE = str(Path(orqmagic.__file__).resolve().parent)
PLACES: list[str] = []  # every place searched, printed at the end (the issue asks for the count)


def with_credentials(url: str) -> str:
    """``url`` with every kind of credential a URL can carry."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{USER}:{PASSWORD}@{rest}/?api_key={QUERY}&region=eu#{FRAGMENT}"


def assert_clean(place: str, text: str | bytes) -> None:
    PLACES.append(place)
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    found = [name for name, tail in TAILS.items() if tail in text]
    assert not found, f"{place} shows the {', '.join(found)}"


def verbose(exc: BaseException) -> str:
    """Every orqmagic frame of the error's traceback with its locals (what ``%xmode Verbose`` prints), then the error."""
    summary = traceback.TracebackException.from_exception(exc, capture_locals=True)
    ours = [f for f in summary.stack if str(Path(f.filename).resolve()).startswith(PACKAGE)]
    assert ours, "the error was raised outside orqmagic?"
    # the test's own frames hold the URL it planted: those are the caller's, not ours
    return "".join(f"{f.filename}:{f.lineno} {f.name} {f.locals}\n" for f in ours) + "".join(summary.format_exception_only())


def failure(call) -> OrqMagicError:
    with pytest.raises(OrqMagicError) as info:
        call()
    return info.value


def sweep_error(place: str, exc: BaseException) -> None:
    assert_clean(place, str(exc) + repr(exc) + repr(getattr(exc, "body", "")) + verbose(exc))
    assert_clean(f"{place} (pickled)", pickle.dumps(exc))
    partial = getattr(exc, "partial", None)
    if partial is not None:
        assert_clean(f"{place} (partial answer)", repr(partial) + str(partial.to_dict()))


@pytest.fixture(scope="module", autouse=True)
def report_places():
    yield
    print(f"\ncanary places checked: {len(PLACES)} ({len(set(PLACES))} distinct), each for the key, user, password, "
          "query value and fragment")


@pytest.fixture(scope="module")
def canary_sandbox():
    with Sandbox(key=KEY, token_rate=0) as sb:
        yield sb


@pytest.fixture
def planted(canary_sandbox, monkeypatch):
    url = with_credentials(canary_sandbox.url)
    for service in ("ORQ", "BASETEN", "GALTEA"):
        monkeypatch.setenv(f"{service}_BASE_URL", url)
        monkeypatch.setenv(f"{service}_API_KEY", KEY)
    return canary_sandbox


def test_the_url_is_split_and_its_query_still_sent():
    """The credentials leave the shown URL but the query still reaches the server, at send time."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"object": "list", "data": [], "has_more": False})

    client = OrqClient(base_url=with_credentials("https://orq.test/tenant1"), api_key=KEY,
                       transport=httpx.MockTransport(record))
    assert client.config.base_url == "https://orq.test/tenant1"
    client.list_deployments()
    sent = seen[0].url
    assert sent.path == "/tenant1/v2/deployments"  # before: the query swallowed the path
    assert dict(sent.params) == {"api_key": QUERY, "region": "eu", "limit": "50"}
    assert not sent.userinfo and not sent.fragment


def test_status_reprs_and_a_working_session_show_no_canary(planted, caplog):
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.INFO)
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "orqmagic")
    try:
        status = shell.run_line_magic("orq", "status")
        assert "URL credentials hidden" in repr(status)
        assert_clean("%orq status (text)", repr(status))
        assert_clean("%orq status (markdown)", status._repr_markdown_())
        for client in (OrqClient(), BasetenClient(), GalteaClient(), orqmagic.AsyncOrqClient(), orqmagic.api.client("orq")):
            assert_clean(f"repr({type(client).__name__})", repr(client))
        assert_clean("repr(ServiceConfig)", repr(resolve("orq")))
        mark = len(planted.requests())
        result = orqmagic.invoke("support-bot", "hello", display=False, cache=True)
        assert result.complete and len(planted.requests()) == mark + 1  # the key and the URL's query were accepted
        again = orqmagic.invoke("support-bot", "hello", display=False, cache=True)
        assert again.cached and len(planted.requests()) == mark + 1
        receipt = result.feedback(70)
        for place, text in (("InvokeResult repr", repr(result)), ("InvokeResult markdown", result._repr_markdown_()),
                            ("InvokeResult.to_dict", str(result.to_dict())), ("feedback receipt", repr(receipt)),
                            ("last_result", repr(orqmagic.api.last_result()))):
            assert_clean(place, text)
        assert_clean("InvokeResult pickle", pickle.dumps(result))
        frame = orqmagic.invoke_many("support-bot", pd.DataFrame({"q": ["a", "b"]}), prompt="{{q}}", run="sweep-ok",
                                     progress=False)
        assert frame["error"].isna().all()
        assert_clean("batch frame", frame.to_string() + repr(frame.attrs))
        assert_clean("batch frame pickle", pickle.dumps(frame))
        metrics = orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="CURRENT")
        assert_clean("Baseten metrics frame", metrics.to_string())
        assert_clean("Galtea metrics", repr(orqmagic.list_metrics()))
        assert_clean("deployments", repr(orqmagic.api.list_deployments()))
    finally:
        shell.run_line_magic("unload_ext", "orqmagic")
    assert_clean("log records (httpx at INFO)", caplog.text)
    assert "HTTP Request" in caplog.text  # httpx did log the requests, without their query


def test_every_error_path_shows_no_canary(planted, monkeypatch):
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refused = with_credentials("http://127.0.0.1:9")
        seen.append(("connection refused", failure(lambda: OrqClient(base_url=refused, retry=ONE_TRY).invoke("support-bot", inputs={"q": "x"}))))
        seen.append(("refused stream", failure(lambda: list(OrqClient(base_url=refused, retry=ONE_TRY).stream("support-bot", inputs={"q": "x"})))))
        slow = OrqClient(timeout=0.1, retry=ONE_TRY, headers={"X-Sandbox-Fault": "latency_ms=500"})
        seen.append(("timeout", failure(lambda: slow.invoke("support-bot", inputs={"q": "x"}))))
        wrong = OrqClient(api_key="sk-wrong-key", retry=ONE_TRY)
        seen.append(("401", failure(lambda: wrong.invoke("support-bot", inputs={"q": "x"}))))
        for fault in ("drop_after=3", "malformed_at=2", "status=500"):
            client = OrqClient(retry=ONE_TRY, headers={"X-Sandbox-Fault": fault})
            seen.append((fault, failure(lambda c=client: orqmagic.invoke("support-bot", "hi", orq=c, display=False))))
        seen.append(("404 with hint", failure(lambda: orqmagic.invoke("no-such-bot", "hi", display=False))))
        seen.append(("Baseten 404", failure(lambda: BasetenClient(retry=ONE_TRY).deployment_metrics("nope", "nope"))))
        seen.append(("bad URL", failure(lambda: OrqClient(base_url=f"ftp://{USER}:{PASSWORD}@h/?k={QUERY}"))))
        seen.append(("bad URL, no scheme", failure(lambda: OrqClient(base_url=f"{USER}:{PASSWORD}@h?k={QUERY}"))))
    for place, exc in seen:
        sweep_error(place, exc)
    assert_clean("warnings", " ".join(str(w.message) for w in caught))


def test_a_server_echoing_every_secret_in_every_spelling_is_redacted():
    """The key (with ``"`` and ``\\``) and the URL's query value echoed raw, JSON-escaped and URL-encoded."""
    def echo(received) -> Reply:
        auth = received.headers.get("authorization", "")
        secrets = [auth, received.target, quote(KEY), quote(QUERY), json.dumps(KEY)]
        body = json.dumps({"message": " | ".join(secrets), "detail": {"echo": secrets, "raw": auth}})
        return Reply([body.encode()], status=400, headers={"content-type": "application/json"})

    with rogue_server() as rogue:
        url = with_credentials(rogue.url(echo))
        client = OrqClient(base_url=url, api_key=KEY, retry=ONE_TRY)
        error = failure(lambda: client.invoke("support-bot", inputs={"q": "x"}))
        assert "********" in str(error) and isinstance(error.body, dict)
        sweep_error("server echo (JSON)", error)
        assert_clean("server echo body, as JSON", json.dumps(error.body))
        text_echo = lambda received: Reply([received.headers["authorization"].encode() + received.target.encode()],  # noqa: E731
                                           status=502, headers={"content-type": "text/plain"})
        client = OrqClient(base_url=with_credentials(rogue.url(text_echo)), api_key=KEY, retry=ONE_TRY)
        sweep_error("server echo (text)", failure(lambda: client.invoke("support-bot", inputs={"q": "x"})))


def test_batches_runs_and_the_store_hold_no_canary(planted, monkeypatch):
    ok = orqmagic.invoke_many("support-bot", pd.DataFrame({"q": ["a", "b", "c"]}), prompt="{{q}}", run="sweep-good",
                              progress=False, cache=True)
    assert ok["error"].isna().all()
    refused = with_credentials("http://127.0.0.1:9")
    monkeypatch.setenv("ORQ_BASE_URL", refused)
    failed = orqmagic.invoke_many("support-bot", pd.DataFrame({"q": ["a", "b"]}), prompt="{{q}}", run="sweep-bad",
                                  progress=False)
    assert failed["error"].notna().all() and "127.0.0.1:9" in failed["error"].iloc[0]
    for place, frame in (("batch error column", failed), ("batch answers", ok)):
        assert_clean(place, frame.to_string() + frame.to_json() + repr(frame.attrs))
        assert_clean(f"{place} (pickled)", pickle.dumps(frame))
    resumed = orqmagic.invoke_many("support-bot", pd.DataFrame({"q": ["a", "b"]}), prompt="{{q}}", run="sweep-bad",
                                   progress=False)
    assert_clean("resumed run", resumed.to_string())
    assert_clean("%orq runs", repr(orqmagic.runs()))
    home = Path(os.environ["ORQMAGIC_HOME"])
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") for p in files) or any(p.suffix == ".sqlite3" for p in files)
    for path in files:  # the SQLite file, its WAL and anything else the store wrote
        assert_clean(f"store file {path.name}", path.read_bytes())


def test_verbose_tracebacks_with_show_traceback_show_no_canary(planted, monkeypatch, capsys):
    """``%xmode Verbose`` prints every frame's locals; ``show_traceback`` asks IPython for the full traceback."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    monkeypatch.setenv("ORQ_BASE_URL", with_credentials("http://127.0.0.1:9"))
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "orqmagic")
    try:
        shell.run_line_magic("xmode", "Verbose")
        shell.run_line_magic("config", "OrqMagic.show_traceback = True")
        capsys.readouterr()
        shell.run_cell("%%invoke support-bot\nhello")
        shell.run_cell("import orqmagic\norqmagic.invoke('support-bot', 'hello', display=False)")
        monkeypatch.setenv("GALTEA_BASE_URL", f"ftp://x:{PASSWORD}@h/?k={QUERY}")  # not in the cell: its source is shown
        shell.run_cell("orqmagic.GalteaClient()")
        out = capsys.readouterr()
        text = out.out + out.err
        assert "Traceback" in text and "TransportError" in text and "self = " in text  # verbose, with locals
        assert "GALTEA_BASE_URL must start with http" in text
        assert "Unexpected exception formatting exception" not in text
        assert_clean("%xmode Verbose tracebacks (show_traceback)", text)
    finally:
        shell.run_line_magic("config", "OrqMagic.show_traceback = False")
        shell.run_line_magic("xmode", "Context")
        shell.config.pop("OrqMagic", None)
        shell.run_line_magic("unload_ext", "orqmagic")


def test_a_saved_notebook_shows_no_canary(planted, tmp_path):
    cells = ["%load_ext orqmagic", "%orq status", "%%invoke support-bot\nhello", "orqmagic_client = __import__('orqmagic').OrqClient()\norqmagic_client",
             "%xmode Verbose", "%config OrqMagic.show_traceback = True",
             "import os\nos.environ['ORQ_BASE_URL'] = os.environ['ORQ_BASE_URL'].replace(os.environ['ORQ_BASE_URL'].split('@')[1].split('/')[0], '127.0.0.1:9')",
             "%%invoke support-bot\nhello"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    saved = tmp_path / "sweep.ipynb"
    nbformat.write(notebook, saved)
    text = saved.read_text()
    assert "TransportError" in text and "127.0.0.1:9" in text
    assert_clean("saved notebook", text)


SCHEMES = ["http://", "https://", "ftp://", "", "http:/"]
HOSTS = ["h.test", "[::1", "[::1]", "h:99999", "h:abc", "h test", "127.0.0.1:0", "", "h\x00", "é.test", "h%zz"]
USERINFO = ["", f"u:{PASSWORD}@", f"{PASSWORD}@", f"u:p@ss:{PASSWORD}@", f":{PASSWORD}@"]
TAILS_OF_URL = ["", "/p", f"/p?k={QUERY}", f"?{QUERY}", f"#{FRAGMENT}", f"/p?k={QUERY}#{FRAGMENT}", f"?k={QUERY}&k2=%zz"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SCHEMES), st.sampled_from(USERINFO), st.sampled_from(HOSTS), st.sampled_from(TAILS_OF_URL),
       st.text(max_size=4))
def test_any_base_url_is_a_client_or_one_configuration_line_without_its_credentials(scheme, userinfo, host, tail, junk):
    """Before: a bad host or port raised httpx's raw InvalidURL or urllib's ValueError (from the constructor's frames)."""
    url = scheme + userinfo + host + tail + junk
    try:
        client = OrqClient(base_url=url, api_key=KEY)
    except orqmagic.ConfigurationError as exc:
        text = str(exc) + verbose(exc)
        assert "\n" not in str(exc)
    else:
        text = repr(client) + repr(client.config) + client.config.base_url
        client.close()
    found = [name for name, tail_ in TAILS.items() if tail_ in text]
    assert not found, f"{url!r} shows the {found}"
