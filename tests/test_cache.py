"""The response cache, against the sandbox, counting the requests it received."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic import StreamInterrupted, ValidationError
from orqmagic.clients.orq import deployment_body
from orqmagic.store.cache import host_of, request_key, response_cache
from orqmagic.store.database import default_store

STREAM = "/v2/deployments/stream"


def sent(sandbox, mark: int, path: str = STREAM) -> int:
    return sum(1 for r in sandbox.requests()[mark:] if r["path"] == path)


def test_second_identical_call_sends_nothing_and_gives_the_same_answer(sandbox_env, sandbox):
    mark = len(sandbox.requests())
    first = orqmagic.invoke("support-bot", "How do I rotate my API key?", cache=True, display=False)
    second = orqmagic.invoke("support-bot", "How do I rotate my API key?", cache=True, display=False)
    assert sent(sandbox, mark) == 1
    assert not first.cached and second.cached and second.cached_at is not None
    for name in ("text", "id", "model", "provider", "usage", "finish_reason", "chunks", "latency_ms", "ttft_ms"):
        assert getattr(second, name) == getattr(first, name), name
    assert "cached (from 20" in second._repr_markdown_() and "cached" not in first._repr_markdown_()
    assert orqmagic.invoke("support-bot", "How do I rotate my API key?", display=False).cached is False  # opt-in
    assert sent(sandbox, mark) == 2


def test_the_key_is_the_whole_request(sandbox_env, sandbox):
    mark = len(sandbox.requests())
    orqmagic.invoke("support-bot", "Hello", cache=True, display=False)
    orqmagic.invoke("support-bot", "Hello", cache=True, display=False, metadata={"case": 1})
    orqmagic.invoke("support-bot", "Hello", cache=True, display=False, system="Be terse.")
    orqmagic.invoke("summarizer", "Hello", cache=True, display=False)
    assert sent(sandbox, mark) == 4
    once = orqmagic.invoke("support-bot", "Hello", cache=True, display=False, stream=False)
    again = orqmagic.invoke("support-bot", "Hello", cache=True, display=False, stream=False)
    assert sent(sandbox, mark) == 4 and sent(sandbox, mark, "/v2/deployments/invoke") == 1
    assert not once.cached and again.cached and again.text == once.text and not again.streamed
    orqmagic.invoke("support-bot", "Hello", cache=True, display=False, metadata={"case": 1})
    assert sent(sandbox, mark) == 4


def test_key_ignores_secrets_but_not_the_host():
    body = deployment_body("support-bot", stream=True, messages=[{"role": "user", "content": "hi"}])
    assert host_of("https://user:pa55@API.orq.ai/v2/x?token=sk-123") == "https://api.orq.ai:443"
    assert host_of("http://127.0.0.1:8123/base") == "http://127.0.0.1:8123"
    same = request_key(body, host=host_of("https://u:secret@api.orq.ai?k=1"), trial=1)
    assert same == request_key(body, host=host_of("https://api.orq.ai"), trial=1)
    assert same != request_key(body, host=host_of("http://127.0.0.1:8123"), trial=1)
    assert same != request_key(body, host=host_of("https://api.orq.ai"), trial=2)
    reordered = deployment_body("support-bot", stream=True, messages=[{"content": "hi", "role": "user"}])
    assert request_key(reordered, host="h", trial=1) == request_key(body, host="h", trial=1)


def test_no_secret_in_the_store_and_the_file_is_private(sandbox_env, sandbox):
    orqmagic.invoke("support-bot", "Hello", cache=True, display=False)
    path = default_store().path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():  # WAL side files take the database file's mode
            assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0
    raw = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert sandbox.key.encode() not in raw


def test_errors_and_broken_streams_are_not_cached(sandbox_env, sandbox):
    mark = len(sandbox.requests())
    sandbox.set_faults("status=500,match=/v2/deployments/stream")
    with pytest.raises(orqmagic.ServerError):
        orqmagic.invoke("support-bot", "Hello", cache=True, display=False)
    sandbox.set_faults("drop_after=3")
    with pytest.raises(StreamInterrupted) as broken:
        orqmagic.invoke("support-bot", "Hello", cache=True, display=False)
    assert broken.value.partial.text and not broken.value.partial.cached
    assert response_cache().stats()["entries"] == 0
    sandbox.set_faults(None)
    fresh = orqmagic.invoke("support-bot", "Hello", cache=True, display=False)
    assert not fresh.cached and response_cache().stats()["entries"] == 1
    assert sent(sandbox, mark) == 3


class _InterruptAfter:
    """An orq client that passes two chunks through, then acts as if Ctrl-C was pressed."""

    def __init__(self, real, after: int = 2) -> None:
        self.config, self._real, self._after = real.config, real, after

    def stream(self, key, **fields):
        def chunks():
            for n, chunk in enumerate(self._real.stream(key, **fields), 1):
                if n > self._after:
                    raise KeyboardInterrupt
                yield chunk
        return chunks()


def test_interrupted_answers_are_not_cached(sandbox_env, sandbox, orq):
    with pytest.raises(KeyboardInterrupt):
        orqmagic.invoke("support-bot", "Hello", cache=True, display=False, orq=_InterruptAfter(orq))
    assert orqmagic.api.last_result().interrupted
    assert response_cache().stats()["entries"] == 0


def test_a_cached_stream_replays_through_the_live_view(sandbox_env, capsys):
    first = orqmagic.invoke("support-bot", "Explain webhooks", cache=True, display=True)
    live = capsys.readouterr().out
    second = orqmagic.invoke("support-bot", "Explain webhooks", cache=True, display=True)
    replayed = capsys.readouterr().out
    assert second.cached and first.text in replayed
    assert replayed.replace(" · cached", "\n").startswith(live.split("\n-- ")[0])
    assert "cached (from" in replayed.splitlines()[-1]


def test_age_limit_and_size_cap(sandbox_env, sandbox):
    mark = len(sandbox.requests())
    orqmagic.invoke("support-bot", "Tell me about billing", cache=True, display=False)
    store = default_store()
    store.connection().execute("UPDATE cache SET created_at = created_at - 3 * 86400")
    assert orqmagic.invoke("support-bot", "Tell me about billing", cache=True, display=False,
                           cache_max_age_days=5).cached
    assert not orqmagic.invoke("support-bot", "Tell me about billing", cache=True, display=False,
                               cache_max_age_days=2).cached  # too old: sent again, and stored afresh
    assert sent(sandbox, mark) == 2
    size = response_cache().stats()["bytes"]
    orqmagic.invoke("support-bot", "Tell me about refunds", cache=True, display=False,
                    cache_max_mb=size * 1.5 / 1e6)
    entries = response_cache().entries()
    assert list(entries["prompt"]) == ["Tell me about refunds"]  # the older entry made room
    with pytest.raises(ValidationError, match="cache_max_mb must be a number > 0"):
        orqmagic.invoke("support-bot", "x", cache=True, cache_max_mb=0)


def test_age_limit_from_the_environment(sandbox_env, monkeypatch):
    orqmagic.invoke("support-bot", "Hello", cache=True, display=False)
    default_store().connection().execute("UPDATE cache SET created_at = created_at - 3 * 86400")
    monkeypatch.setenv("ORQMAGIC_CACHE_MAX_AGE_DAYS", "1")
    assert not orqmagic.invoke("support-bot", "Hello", cache=True, display=False).cached


def test_batch_cache(sandbox_env, sandbox):
    cases = pd.DataFrame({"topic": ["billing", "refunds", "keys"]})
    mark = len(sandbox.requests())
    first = orqmagic.invoke_many("support-bot", cases, prompt="About {{topic}}", cache=True, progress=False)
    second = orqmagic.invoke_many("support-bot", cases, prompt="About {{topic}}", cache=True, progress=False)
    assert sent(sandbox, mark) == 3
    assert list(first["cached"]) == [False] * 3 and list(second["cached"]) == [True] * 3
    assert list(second["id"]) == list(first["id"]) and list(second["text"]) == list(first["text"])
    assert (second.attrs["cached"], second.attrs["sent"]) == (3, 0)
    # one invoke of the same request shares the entry (trial 1, same body)
    single = orqmagic.invoke("support-bot", "About billing", cache=True, display=False)
    assert single.cached and single.id == first["id"].iloc[0] and sent(sandbox, mark) == 3


def test_cache_magics(ip, sandbox):
    mark = len(sandbox.requests())
    ip.run_cell_magic("invoke", "support-bot --cache -o cache_first", "What is a webhook?")
    ip.run_cell_magic("invoke", "support-bot --cache -o cache_second", "What is a webhook?")
    second = ip.user_ns.pop("cache_second")
    assert not ip.user_ns.pop("cache_first").cached
    assert sent(sandbox, mark) == 1 and second.cached and ip.user_ns["_"] is second
    ip.run_line_magic("config", "OrqMagic.cache = True")
    ip.run_cell_magic("invoke", "support-bot", "What is a webhook?")
    assert ip.user_ns["_"].cached and sent(sandbox, mark) == 1
    ip.run_cell_magic("invoke", "summarizer", "What is a webhook?")
    report = ip.run_line_magic("orq", "cache")
    assert "2 entries" in repr(report) and "support-bot" in report._repr_markdown_()
    assert "Cleared 1 cached" in repr(ip.run_line_magic("orq", "cache clear support-bot"))
    assert "1 entries" in repr(ip.run_line_magic("orq", "cache"))
    assert "Cleared 1 cached" in repr(ip.run_line_magic("orq", "cache clear"))
    ip.run_line_magic("config", "OrqMagic.cache_max_mb = 12.5")
    assert "of 12.5 MB" in repr(ip.run_line_magic("orq", "cache"))
    with pytest.raises(UsageError, match="usage: %orq cache"):
        ip.run_line_magic("orq", "cache wipe everything")


def test_the_store_path_follows_orqmagic_home(sandbox_env, tmp_path):
    assert default_store().path == tmp_path / "home" / "orqmagic.sqlite3"
    assert os.environ["ORQMAGIC_HOME"] == str(tmp_path / "home")


def test_a_store_that_cannot_be_written_costs_the_entry_not_the_answer(sandbox_env, monkeypatch):
    from orqmagic.store.cache import ResponseCache
    from orqmagic.store.database import StoreError

    def broken(self, *args, **kwargs):
        raise StoreError("the local store at /x is busy or damaged (disk I/O error)")

    monkeypatch.setattr(ResponseCache, "put", broken)
    with pytest.warns(RuntimeWarning, match="the answer was not cached: the local store"):
        result = orqmagic.invoke("support-bot", "Hello", cache=True, display=False)
    assert result.complete and result.text and not result.cached
