"""The response cache: a finished answer replayed for an identical request, from the local store.

Opt-in (``cache=True``), because a cached answer is by definition not a fresh
sample. The key is a SHA-256 of the whole request in canonical JSON (the
deployment key, every body field, ``stream``), the trial number, and the
service's scheme/host/port, so the sandbox and the real service never share an
entry. The API key and anything else in the base URL (user, password, path,
query) never enter the key, so rotating a key keeps the cache and no secret is
stored. Streamed answers keep their chunks, so a replay runs through the same
accumulator and live view as a live stream. Only complete answers are stored:
errors, interrupted and unfinished streams never are.

Limits: a size cap (oldest-used entries go first) and an age limit, from the
call's arguments, else ``ORQMAGIC_CACHE_MAX_MB`` / ``ORQMAGIC_CACHE_MAX_AGE_DAYS``,
else 256 MB and 30 days. The store file is private to its owner (0600).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import warnings
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ValidationError
from .database import Store, StoreError, default_store

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MAX_MB = 256.0
DEFAULT_MAX_AGE_DAYS = 30.0


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
    """``scheme://host:port`` only: no user, password, path or query (where secrets could hide)."""
    parts = urlsplit(base_url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def request_key(body: dict[str, Any], *, host: str, trial: int) -> str:
    """The cache key of one request: its canonical JSON, trial and host, hashed."""
    canonical = json.dumps({"v": 1, "host": host, "trial": trial, "body": body}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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

    def __init__(self, cache: ResponseCache, body: dict[str, Any], *, host: str, trial: int) -> None:
        self.cache, self.body, self.host, self.trial = cache, body, host, trial
        self.key = request_key(body, host=host, trial=trial)
        self.hit = cache.get(self.key)

    def save(self, chunks: list[dict[str, Any]], *, latency_ms: float | None, ttft_ms: float | None) -> None:
        """Store the answer; a store that cannot be written costs the cache entry, never the answer."""
        try:
            self.cache.put(self.key, deployment=self.body["key"], host=self.host, trial=self.trial,
                           streamed=bool(self.body.get("stream")), label=_label(self.body), chunks=chunks,
                           latency_ms=latency_ms, ttft_ms=ttft_ms)
        except (StoreError, sqlite3.Error) as exc:
            warnings.warn(f"the answer was not cached: {exc}", RuntimeWarning, stacklevel=2)


class ResponseCache:
    """The ``cache`` table of the store, with its size cap and age limit."""

    def __init__(self, store: Store | None = None, settings: CacheSettings | None = None) -> None:
        self.store = store or default_store()
        self.settings = settings or CacheSettings.resolve()

    def call(self, body: dict[str, Any], *, base_url: str, trial: int = 1) -> CachedCall:
        return CachedCall(self, body, host=host_of(base_url), trial=trial)

    def get(self, key: str) -> Entry | None:
        conn = self.store.connection()
        row = conn.execute("SELECT chunks, streamed, meta, created_at FROM cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        now = time.time()
        if now - row["created_at"] > self.settings.max_age_s:
            conn.execute("DELETE FROM cache WHERE key = ?", (key,))
            return None
        conn.execute("UPDATE cache SET used_at = ?, hits = hits + 1 WHERE key = ?", (now, key))
        meta = json.loads(row["meta"])
        return Entry(chunks=json.loads(zlib.decompress(row["chunks"])), streamed=bool(row["streamed"]),
                     created_at=row["created_at"], latency_ms=meta.get("latency_ms"), ttft_ms=meta.get("ttft_ms"))

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
        conn.execute("DELETE FROM cache WHERE created_at < ?", (now - self.settings.max_age_s,))
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
        return frame

    def clear(self, deployment: str | None = None) -> int:
        """Delete every entry, or those of one deployment; return how many went."""
        with self.store.transaction() as conn:
            if deployment is None:
                return conn.execute("DELETE FROM cache").rowcount
            return conn.execute("DELETE FROM cache WHERE deployment = ?", (deployment,)).rowcount


def response_cache(max_mb: float | None = None, max_age_days: float | None = None) -> ResponseCache:
    """The cache in the default store, with these limits (or the environment's, or the defaults)."""
    return ResponseCache(default_store(), CacheSettings.resolve(max_mb, max_age_days))


__all__ = ["CacheSettings", "CachedCall", "Entry", "ResponseCache", "host_of", "request_key",
           "response_cache"]
