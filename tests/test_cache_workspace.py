"""Issue 19: the response cache is per workspace, and a damaged, future-dated or foreign store is a miss, not a failure.

Counted against the sandbox: a request that must be sent is seen there, one that must not is not.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import warnings
import zlib

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import AuthenticationError
from orqmagic.clients.orq import deployment_body
from orqmagic.errors import OrqMagicWarning
from orqmagic.store.cache import CLOCK_SKEW_S, CacheSettings, ResponseCache, workspace_of
from orqmagic.store.database import LATEST, Store, StoreError, default_store

STREAM = "/v2/deployments/stream"
QUESTION = "How do I rotate my API key?"
BODY = deployment_body("support-bot", stream=True, messages=[{"role": "user", "content": "hi"}])


def sent(sandbox, mark: int) -> int:
    return sum(1 for r in sandbox.requests()[mark:] if r["path"] == STREAM)


# -- 4. per workspace ---------------------------------------------------------------------------------


def test_another_key_on_the_same_url_is_never_served_this_workspaces_answer(sandbox_env, sandbox, monkeypatch):
    mark = len(sandbox.requests())
    first = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    monkeypatch.setenv("ORQ_API_KEY", "sk-another-workspace-0000")
    with pytest.raises(AuthenticationError):  # sent, and refused by the sandbox: not answered from A's cache
        orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert sent(sandbox, mark) == 2
    monkeypatch.setenv("ORQ_API_KEY", sandbox.key)
    again = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert again.cached and again.text == first.text and sent(sandbox, mark) == 2  # its own workspace still hits


def test_the_key_is_the_url_less_credentials_and_a_keyed_digest_of_the_api_key(tmp_path):
    cache = ResponseCache(Store(tmp_path / "a.sqlite3"))
    key_of = lambda url, key: cache.call(BODY, base_url=url, key=key).key  # noqa: E731
    base = key_of("https://api.example.com/tenant1", "sk-a")
    assert base == key_of("https://user:pw@API.example.com:443/tenant1/#f", "sk-a")  # never sent: not the workspace
    in_query = key_of("https://api.example.com/tenant1?api_key=x", "sk-a")
    assert in_query != base and in_query != key_of("https://api.example.com/tenant1?api_key=y", "sk-a")  # sent: it is
    assert in_query == key_of("https://user:pw@API.example.com:443/tenant1/?api_key=x#f", "sk-a")
    assert key_of("https://api.example.com/tenant1?api_key=x", None) != key_of("https://api.example.com/tenant1", None)
    assert base != key_of("https://api.example.com/tenant2", "sk-a")  # two tenants on one host
    assert base != key_of("https://api.example.com/tenant1", "sk-b")  # two workspaces on one URL
    other = ResponseCache(Store(tmp_path / "b.sqlite3"))
    assert workspace_of("sk-a", cache.secret()) != workspace_of("sk-a", other.secret())  # a per-store secret
    assert workspace_of("sk-a", cache.secret()) == workspace_of("sk-a", cache.secret())
    assert len(cache.secret()) == 32
    cache.put(base, deployment="support-bot", host="h", trial=1, streamed=True, label="hi", chunks=[{"a": 1}],
              latency_ms=1.0, ttft_ms=1.0)
    cache.store.close()
    assert b"sk-a" not in (tmp_path / "a.sqlite3").read_bytes()


def test_a_key_carried_in_the_base_url_query_is_its_own_workspace(sandbox_env, sandbox, monkeypatch):
    """A gateway that takes its key in the query (``?api_key=…``): two such keys on one URL never share answers."""
    mark = len(sandbox.requests())
    monkeypatch.setenv("ORQ_BASE_URL", f"{sandbox.url}?api_key=first-workspace-key")
    first = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    monkeypatch.setenv("ORQ_BASE_URL", f"{sandbox.url}?api_key=second-workspace-key")
    second = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert not second.cached and sent(sandbox, mark) == 2  # sent again: the first workspace's answer is not served
    monkeypatch.setenv("ORQ_BASE_URL", f"{sandbox.url}?api_key=first-workspace-key")
    again = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert again.cached and again.text == first.text and sent(sandbox, mark) == 2
    path = ResponseCache().store.path
    kept = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file, its log and index
    assert b"first-workspace-key" not in kept and b"second-workspace-key" not in kept


# -- 6. a damaged row, a moved clock, a newer or unusable store -----------------------------------------


def _entry_key(sandbox) -> str:
    cache = ResponseCache()
    body = deployment_body("support-bot", stream=True, messages=[{"role": "user", "content": QUESTION}])
    return cache.call(body, base_url=sandbox.url, key=sandbox.key).key


def test_a_damaged_cache_row_is_set_aside_and_the_answer_fetched_again(sandbox_env, sandbox):
    orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    key = _entry_key(sandbox)
    conn = default_store().connection()
    conn.execute("UPDATE cache SET chunks = ? WHERE key = ?", (b"\x78\x9cnot zlib at all", key))
    mark = len(sandbox.requests())
    again = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert not again.cached and again.complete and sent(sandbox, mark) == 1
    damaged = conn.execute("SELECT key, reason FROM cache_damaged").fetchall()
    assert [d["key"] for d in damaged] == [key] and damaged[0]["reason"].startswith("error:")
    third = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert third.cached and sent(sandbox, mark) == 1  # the fresh answer took its place


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.one_of(st.binary(max_size=64),
                        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4),
                                                                                                  inner, max_size=3),
                                     max_leaves=8).map(lambda v: zlib.compress(json.dumps(v).encode()))),
       meta=st.one_of(st.text(max_size=16), st.just('{"latency_ms": 1}'), st.just("[]"), st.just("null")))
def test_no_cache_row_can_make_a_lookup_fail(tmp_path_factory, chunks, meta):
    """Whatever bytes sit in a row, a lookup is a hit (a list of chunk objects) or a miss with the row set aside."""
    store = Store(tmp_path_factory.mktemp("cache") / "s.sqlite3")
    cache = ResponseCache(store)
    now = time.time()
    store.connection().execute(
        "INSERT INTO cache (key, deployment, host, trial, streamed, label, chunks, meta, size, created_at, used_at) "
        "VALUES ('k', 'd', 'h', 1, 1, 'l', ?, ?, 1, ?, ?)", (chunks, meta, now, now))
    entry = cache.get("k")
    left = store.connection().execute("SELECT COUNT(*) FROM cache").fetchone()[0]
    aside = store.connection().execute("SELECT COUNT(*) FROM cache_damaged").fetchone()[0]
    if entry is None:
        assert (left, aside) == (0, 1)
    else:
        assert entry.chunks and all(isinstance(c, dict) for c in entry.chunks) and (left, aside) == (1, 0)
    store.close()


def test_an_entry_dated_in_the_future_is_dropped(sandbox_env, sandbox):
    """The clock was moved back after the answer was cached: its age is unknown, so it is not trusted."""
    orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    conn = default_store().connection()
    conn.execute("UPDATE cache SET created_at = ?", (time.time() + 86_400,))
    mark = len(sandbox.requests())
    again = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert not again.cached and sent(sandbox, mark) == 1
    assert conn.execute("SELECT MAX(created_at) FROM cache").fetchone()[0] <= time.time()


@settings(max_examples=40, deadline=None)
@given(offset=st.floats(min_value=-3 * 86_400, max_value=3 * 86_400, allow_nan=False))
def test_an_entry_is_used_only_within_its_age_window(tmp_path_factory, offset):
    store = Store(tmp_path_factory.mktemp("age") / "s.sqlite3")
    cache = ResponseCache(store, CacheSettings(max_bytes=10**9, max_age_s=86_400))
    cache.put("k", deployment="d", host="h", trial=1, streamed=True, label="l", chunks=[{"a": 1}], latency_ms=None,
              ttft_ms=None)
    store.connection().execute("UPDATE cache SET created_at = ?", (time.time() + offset,))
    hit = cache.get("k")
    if hit is not None:
        assert -86_400 <= offset <= CLOCK_SKEW_S + 1
    else:
        assert offset < -86_400 + 1 or offset > CLOCK_SKEW_S - 1
    store.close()


def _newer_store(path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_store_from_a_newer_release_is_refused_in_one_line_and_left_untouched(sandbox_env, sandbox):
    path = default_store().path
    digest = _newer_store(path)
    mark = len(sandbox.requests())
    with pytest.raises(StoreError) as caught:
        orqmagic.invoke_many("support-bot", pd.DataFrame({"q": ["a", "b"]}), prompt="{{q}}", run="r", progress=False)
    message = str(caught.value)
    assert "\n" not in message and "store version 99" in message and f"versions up to {LATEST}" in message
    assert "nothing was sent" in message and sent(sandbox, mark) == 0
    with pytest.warns(OrqMagicWarning, match="not cached.*store version 99") as caught_warnings:
        answer = orqmagic.invoke("support-bot", QUESTION, cache=True, display=False)
    assert len(caught_warnings) == 1 and answer.complete and not answer.cached and sent(sandbox, mark) == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not even switched to WAL
    conn.close()


def test_an_unusable_store_makes_cache_true_go_on_uncached_with_one_note(sandbox_env, sandbox):
    path = default_store().path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database, it is a text file someone saved here" * 100)
    mark = len(sandbox.requests())
    for call in (lambda: orqmagic.invoke("support-bot", QUESTION, cache=True, display=False),
                 lambda: orqmagic.compare(["support-bot", "summarizer"], QUESTION, cache=True, display=False),
                 lambda: orqmagic.invoke_many("support-bot", pd.DataFrame({"q": ["a", "b", "c"]}), prompt="{{q}}",
                                              cache=True, progress=False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        notes = [str(w.message) for w in caught if issubclass(w.category, OrqMagicWarning)]
        assert len(notes) == 1 and notes[0].startswith("cache=True: the local store cannot be used"), notes
    assert sent(sandbox, mark) == 1 + 2 + 3


def test_a_batch_whose_answers_cannot_be_cached_warns_once_not_per_row(sandbox_env, sandbox, monkeypatch):
    def full(self, *args, **kwargs):
        raise StoreError("the local store at /x could not be written (database or disk is full)")

    monkeypatch.setattr(ResponseCache, "put", full)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = orqmagic.invoke_many("support-bot", pd.DataFrame({"q": [f"q{i}" for i in range(12)]}), prompt="{{q}}",
                                   cache=True, progress=False)
    notes = [str(w.message) for w in caught if issubclass(w.category, OrqMagicWarning)]
    assert out["text"].notna().all() and len(notes) == 1 and "not cached" in notes[0] and "disk is full" in notes[0]
