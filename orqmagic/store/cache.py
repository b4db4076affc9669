"""The response cache: a finished answer replayed for an identical request, from the local store.

Opt-in (``cache=True``), because a cached answer is by definition not a fresh
sample. The key is a SHA-256 of the whole request in canonical JSON (the
deployment key, every body field, ``stream``), the trial number, and the
*workspace*: the service's full base URL less any credentials (scheme, host,
port and path; no user, password, query or fragment) together with a keyed
one-way digest of the API key (HMAC-SHA-256 under a random secret made once per
store and kept in it). So one workspace is never served another's answers, two
tenants on one host (``/tenant1``, ``/tenant2``) never share an entry, and the
sandbox and the real service never meet; the API key itself is never stored,
and without the store's secret its digest cannot even be checked against a
guessed key. Rotating a key starts a new set of entries (the old ones age out).
Streamed answers keep their chunks, so a replay runs through the same
accumulator and live view as a live stream. Only complete answers are stored:
errors, interrupted and unfinished streams never are.

Damage is a miss, never an error: a row that cannot be read is set aside (the
``cache_damaged`` table) and the answer fetched again; an entry dated in the
future (the clock was moved back) is dropped; a store that cannot be used at all
turns ``cache=True`` into an uncached call, with one warning line.

Limits: a size cap (oldest-used entries go first) and an age limit, from the
call's arguments, else ``ORQMAGIC_CACHE_MAX_MB`` / ``ORQMAGIC_CACHE_MAX_AGE_DAYS``,
else 256 MB and 30 days. The store file is private to its owner (0600).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ValidationError, warn
from .database import Store, StoreError, default_store

if TYPE_CHECKING:
    import pandas as pd

    from ..config import Secret, ServiceConfig

DEFAULT_MAX_MB = 256.0
DEFAULT_MAX_AGE_DAYS = 30.0
CLOCK_SKEW_S = 300.0  # an entry dated further ahead than this was made before the clock moved back: dropped


@dataclass(frozen=True)
class CacheSettings:
    max_bytes: int
    max_age_s: float

    @classmethod
    def resolve(cls, max_mb: float | None = None, max_age_days: float | None = None) -> CacheSettings:
        """Arguments first, then the environment, then the defaults."""
        mb = _number(max_mb, "ORQMAGIC_CACHE_MAX_MB", DEFAULT_MAX_MB, "cache_max_mb")
        days = _number(max_age_days, "ORQMAGIC_CACHE_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS, "cache_max_age_days")
        return cls(max_bytes=int(mb * 1_000_000), max_age_s=days * 86_400)


def _number(value: float | None, env: str, default: float, name: str) -> float:
    source = name
    if value is None and os.environ.get(env):
        value, source = os.environ[env], env  # type: ignore[assignment]
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{source} must be a number, got {value!r}", field=name) from None
    if isinstance(value, bool) or not number > 0:
        raise ValidationError(f"{source} must be a number > 0, got {value!r}", field=name)
    return number


def host_of(base_url: str) -> str:
    """The base URL less its credentials: ``scheme://host:port/path``, no user, password, query or fragment.

    The path stays (two tenants on one host are two workspaces); everything a
    secret could hide in goes.
    """
    parts = urlsplit(base_url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"


def request_key(body: dict[str, Any], *, host: str, trial: int, workspace: str = "") -> str:
    """The cache key of one request: its canonical JSON, trial, credential-less base URL and workspace, hashed."""
    canonical = json.dumps({"v": 2, "host": host, "workspace": workspace, "trial": trial, "body": body},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def workspace_of(key: Secret | str | None, secret: bytes, query: Secret | str | None = None) -> str:
    """A keyed, one-way digest of the API key and the base URL's query: equal for equal credentials, useless to
    anyone without the store.

    The query is part of the workspace because it is sent with every request (a
    gateway may take its key there, ``?api_key=…``); userinfo and fragment are not
    sent, so they are not. With no query the digest is what it was before.
    """
    reveal = lambda s: s if isinstance(s, str) else s.reveal()  # noqa: E731
    if key is None and not query:
        return "no-key"
    raw = reveal(key) if key is not None else ""
    if query:
        raw += "\x00?" + reveal(query)
    return hmac.new(secret, raw.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _label(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            text = message["content"]
            break
    else:
        text = json.dumps(body.get("inputs") or body.get("invoke_options") or {}, default=str)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:59] + "…"


@dataclass
class Entry:
    """A stored answer: its chunks (one invoke response when not streamed) and the original timings."""

    chunks: list[dict[str, Any]]
    streamed: bool
    created_at: float
    latency_ms: float | None
    ttft_ms: float | None


class CachedCall:
    """One request's view of the cache: ``hit`` if an entry is there, ``save`` once the answer is complete."""

    def __init__(self, cache: ResponseCache, body: dict[str, Any], *, host: str, trial: int,
                 workspace: str = "") -> None:
        self.cache, self.body, self.host, self.trial = cache, body, host, trial
        self.key = request_key(body, host=host, trial=trial, workspace=workspace)
        self.hit = cache.get(self.key)

    def save(self, chunks: list[dict[str, Any]], *, latency_ms: float | None, ttft_ms: float | None) -> None:
        """Store the answer; a store that cannot be written costs the cache entry, never the answer."""
        try:
            self.cache.put(self.key, deployment=self.body["key"], host=self.host, trial=self.trial,
                           streamed=bool(self.body.get("stream")), label=_label(self.body), chunks=chunks,
                           latency_ms=latency_ms, ttft_ms=ttft_ms)
        except (StoreError, sqlite3.Error) as exc:
            self.cache.not_saved(exc)


class ResponseCache:
    """The ``cache`` table of the store, with its size cap and age limit."""

    def __init__(self, store: Store | None = None, settings: CacheSettings | None = None) -> None:
        self.store = store or default_store()
        self.settings = settings or CacheSettings.resolve()
        self._secret: bytes | None = None
        self._unsaved = 0

    def not_saved(self, exc: BaseException) -> None:
        """One warning line for the first answer this cache could not keep, not one per row of a batch."""
        self._unsaved += 1
        if self._unsaved == 1:
            warn(f"the answer was not cached: {exc}")

    def call(self, body: dict[str, Any], *, config: ServiceConfig | None = None, base_url: str | None = None,
             key: Secret | str | None = None, trial: int = 1) -> CachedCall:
        """The cache's view of one request to the workspace of ``config`` (or of ``base_url`` and ``key``)."""
        if config is not None:
            base_url, key, query = config.base_url, config.key, config.query
        else:
            query = urlsplit((base_url or "").strip()).query or None
        return CachedCall(self, body, host=host_of(base_url or ""), trial=trial,
                          workspace=workspace_of(key, self.secret(), query))

    def secret(self) -> bytes:
        """This store's random HMAC secret, made by whichever process needs it first."""
        if self._secret is None:
            row = self.store.connection().execute("SELECT value FROM secrets WHERE name = 'cache'").fetchone()
            if row is None:
                with self.store.transaction() as conn:
                    conn.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES ('cache', ?)",
                                 (secrets.token_bytes(32),))
                    row = conn.execute("SELECT value FROM secrets WHERE name = 'cache'").fetchone()
            self._secret = bytes(row["value"])
        return self._secret

    def get(self, key: str) -> Entry | None:
        """The entry under ``key``; None for a miss, an expired or future-dated entry, or one that cannot be read."""
        try:
            conn = self.store.connection()
            row = conn.execute("SELECT chunks, streamed, meta, created_at FROM cache WHERE key = ?", (key,)).fetchone()
        except (StoreError, sqlite3.Error):
            return None
        if row is None:
            return None
        now = time.time()
        if not now - self.settings.max_age_s <= row["created_at"] <= now + CLOCK_SKEW_S:
            self._forget(key)
            return None
        try:
            meta = json.loads(row["meta"])
            entry = Entry(chunks=json.loads(zlib.decompress(row["chunks"])), streamed=bool(row["streamed"]),
                          created_at=row["created_at"], latency_ms=meta.get("latency_ms"), ttft_ms=meta.get("ttft_ms"))
            if not isinstance(entry.chunks, list) or not all(isinstance(c, dict) for c in entry.chunks) or not entry.chunks:
                raise ValueError("the chunks are not a list of JSON objects")
        except (zlib.error, ValueError, TypeError, AttributeError) as exc:
            self._set_aside(key, f"{type(exc).__name__}: {exc}")
            return None
        with _quietly():  # the hit is good even if its use cannot be counted (a full disk)
            conn.execute("UPDATE cache SET used_at = ?, hits = hits + 1 WHERE key = ?", (now, key))
        return entry

    def _forget(self, key: str) -> None:
        with _quietly():
            self.store.connection().execute("DELETE FROM cache WHERE key = ?", (key,))

    def _set_aside(self, key: str, reason: str) -> None:
        """Move a row that cannot be read out of the way (kept in ``cache_damaged`` for a look), so it is a miss."""
        with _quietly(), self.store.transaction() as conn:
            conn.execute("INSERT INTO cache_damaged (key, chunks, meta, reason, found_at) "
                         "SELECT key, chunks, meta, ?, ? FROM cache WHERE key = ?", (reason, time.time(), key))
            conn.execute("DELETE FROM cache WHERE key = ?", (key,))

    def put(self, key: str, *, deployment: str, host: str, trial: int, streamed: bool, label: str,
            chunks: list[dict[str, Any]], latency_ms: float | None, ttft_ms: float | None) -> None:
        blob = zlib.compress(json.dumps(chunks, separators=(",", ":"), default=str).encode(), 1)
        meta = json.dumps({"latency_ms": latency_ms, "ttft_ms": ttft_ms})
        now = time.time()
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO cache (key, deployment, host, trial, streamed, label, chunks, meta, "
                         "size, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (key, deployment, host, trial, int(streamed), label, blob, meta, len(blob), now, now))
            self._evict(conn, now)

    def _evict(self, conn: Any, now: float) -> None:
        conn.execute("DELETE FROM cache WHERE created_at < ? OR created_at > ?",
                     (now - self.settings.max_age_s, now + CLOCK_SKEW_S))
        total = conn.execute("SELECT COALESCE(SUM(size), 0) FROM cache").fetchone()[0]
        if total <= self.settings.max_bytes:
            return
        doomed = []
        for key, size in conn.execute("SELECT key, size FROM cache ORDER BY used_at, created_at").fetchall():
            if total <= self.settings.max_bytes:
                break
            doomed.append((key,))
            total -= size
        conn.executemany("DELETE FROM cache WHERE key = ?", doomed)

    def stats(self) -> dict[str, int]:
        row = self.store.connection().execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM cache").fetchone()
        return {"entries": int(row[0]), "bytes": int(row[1])}

    def entries(self) -> pd.DataFrame:
        """One row per entry, newest first (the prompt preview, never the request's secrets: there are none)."""
        import pandas as pd

        rows = self.store.connection().execute(
            "SELECT deployment, host, trial, streamed, label AS prompt, size, hits, created_at, used_at, key "
            "FROM cache ORDER BY created_at DESC").fetchall()
        frame = pd.DataFrame([dict(r) for r in rows],
                             columns=["deployment", "host", "trial", "streamed", "prompt", "size", "hits",
                                      "created_at", "used_at", "key"])
        for column in ("created_at", "used_at"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True).astype("datetime64[ms, UTC]")
        frame["streamed"] = frame["streamed"].astype(bool)
        frame = frame.astype({"trial": "int64", "size": "int64", "hits": "int64"})  # the same dtypes when empty
        return frame

    def clear(self, deployment: str | None = None) -> int:
        """Delete every entry, or those of one deployment; return how many went."""
        with self.store.transaction() as conn:
            if deployment is None:
                return conn.execute("DELETE FROM cache").rowcount
            return conn.execute("DELETE FROM cache WHERE deployment = ?", (deployment,)).rowcount


def response_cache(max_mb: float | None = None, max_age_days: float | None = None) -> ResponseCache | None:
    """The cache in the default store, with these limits (or the environment's, or the defaults).

    None, after one warning line, when the store cannot be used (damaged, unwritable,
    from a newer release): the call then goes on uncached rather than failing.
    """
    cache = ResponseCache(default_store(), CacheSettings.resolve(max_mb, max_age_days))
    try:
        cache.secret()  # opens the store (and brings its schema up to date): the first thing that can fail
    except (StoreError, sqlite3.Error) as exc:
        warn(f"cache=True: the local store cannot be used, so this call is not cached ({exc})")
        return None
    return cache


class _quietly:
    """Suppress what a store refuses where that costs only bookkeeping (a hit count, an expired row's delete)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        return kind is not None and issubclass(kind, (StoreError, sqlite3.Error))


__all__ = ["CacheSettings", "CachedCall", "Entry", "ResponseCache", "host_of", "request_key",
           "response_cache", "workspace_of"]
