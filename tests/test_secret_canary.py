"""A distinctive fake key must appear nowhere: not in errors, reprs, status, logs, warnings or notebooks."""

import logging
import traceback
import warnings
from pathlib import Path

import httpx
import nbformat
import pytest
from nbclient import NotebookClient

import orqmagic
from orqmagic import OrqMagicError, Sandbox
from orqmagic.clients import BasetenClient, GalteaClient, OrqClient, RetryPolicy, StreamAccumulator
from orqmagic.config import resolve

CANARY = "sk-canary-7Qx9ZpL2mW4vK8rT"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ONE_TRY = RetryPolicy(attempts=1)


def text_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(getattr(exc, "body", ""))


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text and CANARY[:16] not in text


@pytest.fixture
def canary_env(monkeypatch):
    for name in ("ORQ_API_KEY", "BASETEN_API_KEY", "GALTEA_API_KEY"):
        monkeypatch.setenv(name, CANARY)


def drive(client_call) -> str:
    with pytest.raises(OrqMagicError) as info:
        client_call()
    return text_of(info.value)


def test_every_error_path_keeps_the_key_out(canary_env, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrong = OrqClient(base_url=sandbox.url, retry=ONE_TRY)  # canary key, which the sandbox rejects: 401
        seen.append(drive(lambda: wrong.invoke("support-bot", inputs={"q": "x"})))
        seen.append(drive(lambda: list(wrong.stream("support-bot", inputs={"q": "x"}))))
        for status in (403, 404, 429, 500):
            client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=ONE_TRY,
                               headers={"X-Sandbox-Fault": f"status={status}"})
            seen.append(drive(lambda c=client: c.invoke("support-bot", inputs={"q": "x"})))
        seen.append(drive(lambda: OrqClient(base_url="http://127.0.0.1:9", retry=ONE_TRY).invoke("support-bot", inputs={"q": "x"})))
        slow = OrqClient(base_url=sandbox.url, api_key=sandbox.key, timeout=0.1, retry=ONE_TRY,
                         headers={"X-Sandbox-Fault": "latency_ms=500"})
        seen.append(drive(lambda: slow.invoke("support-bot", inputs={"q": "x"})))
        for fault in ("drop_after=3", "malformed_at=2", "first_byte_ms=800"):
            client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, stream_timeout=0.2,
                               headers={"X-Sandbox-Fault": fault})
            seen.append(drive(lambda c=client: [StreamAccumulator().add(x) for x in c.stream("support-bot", inputs={"q": "x"})]))
        seen.append(drive(lambda: BasetenClient(base_url=sandbox.url, retry=ONE_TRY).list_models()))
        seen.append(drive(lambda: GalteaClient(base_url=sandbox.url, retry=ONE_TRY).list_metrics()))
    assert len(seen) == 13  # 2 auth, 4 statuses, refused, timeout, 3 stream faults, Baseten, Galtea
    assert_clean(*seen, caplog.text, *(str(w.message) for w in caught))


def test_server_echoing_the_key_is_redacted(canary_env):
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": f"bad key {request.headers['authorization']}"})

    client = OrqClient(base_url="http://orq.test", transport=httpx.MockTransport(echo), retry=ONE_TRY)
    message = drive(lambda: client.invoke("support-bot", inputs={"q": "x"}))
    assert "bad key Bearer ********" in message
    assert_clean(message)


def test_reprs_and_status_hide_the_key(canary_env, ip, sandbox):
    clients = [OrqClient(), BasetenClient(), GalteaClient(), orqmagic.AsyncOrqClient()]
    config = resolve("orq")
    status = ip.run_line_magic("orq", "status")
    texts = [repr(c) for c in clients] + [repr(config), str(config.key), repr(status), status._repr_markdown_(),
                                         repr(orqmagic.Outbox())]
    assert all("key=set" in repr(c) for c in clients)
    assert_clean(*texts)


def test_results_panels_and_magics_hide_the_key(monkeypatch):
    with Sandbox(key=CANARY) as sb:  # the canary is the valid key here, so everything succeeds
        for service in ("ORQ", "BASETEN", "GALTEA"):
            monkeypatch.setenv(f"{service}_BASE_URL", sb.url)
            monkeypatch.setenv(f"{service}_API_KEY", CANARY)
        result = orqmagic.invoke("support-bot", "hello", display=False)
        receipt = result.feedback(50)
        panel = orqmagic.FeedbackPanel(result)
        metrics = orqmagic.MetricsPanel()
        form = orqmagic.MetricForm()
        texts = [repr(result), result._repr_markdown_(), str(result.to_dict()), repr(receipt), repr(panel),
                 metrics.status.value, metrics.table.value, repr(metrics), form.preview.value, repr(sb)]
        assert_clean(*texts)


def test_executed_notebooks_hold_no_key(monkeypatch, tmp_path):
    with Sandbox(key=CANARY) as sb:
        for service in ("ORQ", "BASETEN", "GALTEA"):
            monkeypatch.setenv(f"{service}_BASE_URL", sb.url)
            monkeypatch.setenv(f"{service}_API_KEY", CANARY)
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
            saved = tmp_path / path.name
            nbformat.write(notebook, saved)
            assert_clean(saved.read_text())


# -- keys that are not one line, not a str, echoed near a cut, or chained to httpx -----------------

BAD_KEYS = [CANARY[:8] + "\n" + CANARY[8:], CANARY[:8] + "\r" + CANARY[8:], CANARY + "\x00", CANARY[:5] + " " + CANARY[5:],
            CANARY + "\tx", CANARY + "é", CANARY[:4] + "\x1b[31m" + CANARY[4:]]


def verbose_text(exc: BaseException) -> str:
    """What a verbose traceback shows of our frames, their local variables included (the caller's own are theirs)."""
    summary = traceback.TracebackException.from_exception(exc, capture_locals=True)
    ours = [frame for frame in summary.stack if "/orqmagic/" in frame.filename.replace("\\", "/")]
    assert ours, "the error was raised outside orqmagic?"
    return "".join(f"{f.filename}:{f.lineno} {f.name} {f.locals}\n" for f in ours) + "".join(summary.format_exception_only())


def refused(build) -> str:
    with pytest.raises(orqmagic.ConfigurationError) as info:
        build()
    text = str(info.value)
    assert "\n" not in text and ("not shown" in text or "paste it again" in text)
    return text_of(info.value) + verbose_text(info.value)


@pytest.mark.parametrize("bad", BAD_KEYS, ids=["newline", "carriage-return", "nul", "space", "tab", "non-ascii", "escape"])
def test_keys_with_whitespace_or_control_characters_are_refused_without_showing_them(bad, monkeypatch):
    from orqmagic.config import set_key

    texts = [refused(lambda: OrqClient(api_key=bad, base_url="http://orq.test")),
             refused(lambda: resolve("galtea", api_key=bad)),
             refused(lambda: set_key("baseten", bad))]
    if "\x00" not in bad:  # the environment itself cannot hold a NUL
        monkeypatch.setenv("ORQ_API_KEY", bad)
        texts.append(refused(lambda: OrqClient(base_url="http://orq.test")))
        assert "ORQ_API_KEY" in texts[-1]
    assert_clean(*texts)


@pytest.mark.parametrize("key", [CANARY.encode(), bytearray(CANARY.encode()), memoryview(CANARY.encode()), 12345, [CANARY]],
                         ids=["bytes", "bytearray", "memoryview", "int", "list"])
def test_api_key_of_the_wrong_type_is_refused_and_absent_from_verbose_tracebacks(key):
    texts = [refused(lambda: OrqClient(api_key=key, base_url="http://orq.test")),
             refused(lambda: orqmagic.AsyncOrqClient(api_key=key, base_url="http://orq.test")),
             refused(lambda: resolve("orq", api_key=key))]
    assert all("must be a str" in t for t in texts)
    assert_clean(*texts)


@pytest.mark.parametrize("as_json", [True, False])
@pytest.mark.parametrize("pad", [150, 195, 200, 290, 295, 299])
def test_key_echoed_near_the_cut_is_redacted_before_truncating(canary_env, pad, as_json):
    def echo(request: httpx.Request) -> httpx.Response:
        text = "x" * pad + request.headers["authorization"].split()[1] + " tail"
        return httpx.Response(400, json={"message": text}) if as_json else httpx.Response(400, text=text)

    client = OrqClient(base_url="http://orq.test", transport=httpx.MockTransport(echo), retry=ONE_TRY)
    message = drive(lambda: client.invoke("support-bot", inputs={"q": "x"}))
    assert "sk-can" not in message and CANARY[-6:] not in message


def chain(exc: BaseException | None) -> list[BaseException]:
    out = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def test_our_errors_do_not_chain_an_httpx_object_holding_the_header(canary_env, sandbox):
    errors = []
    for build in (lambda: OrqClient(base_url="http://127.0.0.1:9", retry=ONE_TRY).invoke("support-bot", inputs={"q": "x"}),
                  lambda: OrqClient(base_url=sandbox.url, api_key=sandbox.key, timeout=0.1, retry=ONE_TRY,
                                    headers={"X-Sandbox-Fault": "latency_ms=500"}).invoke("support-bot", inputs={"q": "x"}),
                  lambda: list(OrqClient(base_url=sandbox.url, api_key=sandbox.key,
                                         headers={"X-Sandbox-Fault": "drop_after=2"}).stream("support-bot", inputs={"q": "x"})),
                  lambda: list(OrqClient(base_url="http://127.0.0.1:9", retry=ONE_TRY).stream("support-bot", inputs={"q": "x"}))):
        with pytest.raises(OrqMagicError) as info:
            build()
        errors.append(info.value)
    for error in errors:
        assert chain(error) == [error], f"{type(error).__name__} chains {[type(e).__name__ for e in chain(error)[1:]]}"
        assert not any(isinstance(v, (httpx.Request, httpx.Response, httpx.HTTPError)) for v in vars(error).values())
        assert_clean(verbose_text(error))


def test_secret_refuses_pickle_copy_state_and_member_listings():
    import copy
    import pickle

    from orqmagic.config import Secret

    secret = Secret(CANARY)
    for attempt in (lambda: pickle.dumps(secret), lambda: copy.copy(secret), lambda: copy.deepcopy(secret),
                    lambda: secret.__getstate__(), lambda: object.__reduce_ex__(secret, 2),
                    lambda: pickle.dumps(resolve("orq", api_key=CANARY, base_url="http://orq.test"))):
        with pytest.raises(TypeError) as info:
            attempt()
        assert_clean(text_of(info.value))
    with pytest.raises(TypeError):
        vars(secret)
    with pytest.raises(AttributeError):
        secret._value = "x"
    listing = [f"{name}={getattr(secret, name)!r}" for name in dir(secret)]
    assert listing[0].startswith("reveal=")
    assert_clean(repr(secret), str(secret), f"{secret}", f"{secret!r:>40}", *listing)
    assert secret.reveal() == CANARY and secret == Secret(CANARY)


def test_the_local_store_holds_no_key(monkeypatch, tmp_path):
    with Sandbox(key=CANARY) as sb:
        monkeypatch.setenv("ORQ_BASE_URL", sb.url)
        monkeypatch.setenv("ORQ_API_KEY", CANARY)
        result = orqmagic.invoke("support-bot", "hello", display=False)
        sb.set_faults("status=503,match=/v2/deployments/" + result.id)
        queued = result.feedback(10)
        sb.set_faults(None)
        sent = result.feedback(20)
        from orqmagic.store.outbox import default_outbox

        box = default_outbox()
        assert box.wait(timeout=30)
        assert queued.status == "queued" and sent.status == "sent"
        store_files = sorted(box.path.parent.glob("orqmagic.sqlite3*"))
        assert store_files
        assert_clean(*(f.read_bytes().decode("latin-1") for f in store_files), repr(box), repr(queued), repr(sent),
                     queued._repr_markdown_(), str(box.records()))
