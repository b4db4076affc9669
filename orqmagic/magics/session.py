"""``%orq`` commands, as plain functions returning displayable objects."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Any

from .. import api
from ..config import SERVICES, resolve, sandbox_mode_active, set_key, use_remote, use_sandbox
from ..errors import ValidationError

COMMANDS = ("sandbox", "remote", "status", "login", "deployments", "outbox", "flush", "store", "cache", "runs")


@dataclass
class Notice:
    """A short message with HTML-free Markdown and text forms."""

    markdown: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown.replace("**", "").replace("`", "")


@dataclass
class Status:
    rows: list[dict[str, str]]

    def _repr_markdown_(self) -> str:
        lines = ["| service | where | key | mode |", "|---|---|---|---|"]
        lines += [f"| {r['service']} | {r['where']} | {r['key']} | {r['mode']} |" for r in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "\n".join(f"{r['service']:<8} {r['where']:<32} {r['mode']:<20} key: {r['key']}" for r in self.rows)


def cmd_sandbox() -> Notice:
    from ..sandbox import shared_sandbox

    use_sandbox()
    url = shared_sandbox().url
    return Notice(f"🧪 **Sandbox on** at `{url}`: orq.ai, Baseten and Galtea are simulated locally. "
                  "Answers are **not** from a real model. `%orq remote` switches back.")


def cmd_remote() -> Notice:
    use_remote()
    return Notice("Services resolve from keys and the environment again (`%orq status` shows where).")


def _key_state(name: str, sandboxed: bool) -> str:
    """Where the key for ``name`` comes from, truthfully, and never the key itself."""
    from .. import config

    env = SERVICES[name].key_env
    own = ("entered with %orq login" if name in config._session.keys
           else f"${env}" if os.environ.get(env, "").strip() else None)
    if sandboxed:
        return "the sandbox's own key" + (f" (yours, {own}, is not used)" if own else "")
    return f"set ({own})" if own else "absent"


def cmd_status() -> Status:
    """Where each service goes and which key it gets; says so when the sandbox's key stands in."""
    rows = []
    for name, service in SERVICES.items():
        config = resolve(name)
        sandboxed = config.sandbox or sandbox_mode_active()
        rows.append({
            "service": service.title,
            "where": config.base_url,
            "key": _key_state(name, sandboxed) if (config.key or sandboxed) else "absent",
            "mode": "sandbox (simulated)" if sandboxed else "remote",
        })
    return Status(rows)


def cmd_login(service: str, *typed: str) -> Notice:
    if service not in SERVICES:
        raise ValidationError(f"login takes one of {', '.join(SERVICES)}, got {service!r}")
    if typed:  # never echo what was typed: it is probably the key
        raise ValidationError("do not type a key on the magic line (the notebook and its history keep it): "
                              f"run `%orq login {service}` and paste the key into the hidden prompt")
    key = getpass.getpass(f"{SERVICES[service].title} API key (hidden): ")
    if not key.strip():
        return Notice("No key entered; nothing changed.")
    set_key(service, key)
    return Notice(f"{SERVICES[service].title} key set for this session (not saved anywhere).")


def cmd_deployments() -> Any:
    """``%orq deployments``: :func:`orqmagic.api.list_deployments` (flat, snake_case, UTC times, provider/model)."""
    return api.list_deployments()


def cmd_outbox() -> Any:
    """Pending feedback, and damaged records set aside (kept for inspection, never sent)."""
    from ..store.outbox import default_outbox

    box = default_outbox()
    rows = box.pending() + box.records("damaged")
    if not rows:
        return Notice(f"The outbox is empty (store `{box.path}`).")
    import pandas as pd

    frame = pd.DataFrame([
        {"submission_id": p["id"], "transaction_id": p["transaction_id"], "status": p["status"],
         "score": ((p["body"] or {}).get("feedback") or {}).get("score") if isinstance(p["body"], dict) else None,
         "queued_at": pd.Timestamp(p["queued_at"], unit="s", tz="UTC"), "attempts": p["attempts"], "error": p.get("error")}
        for p in rows
    ])
    frame["queued_at"] = frame["queued_at"].astype("datetime64[ms, UTC]")  # the package's one time resolution
    return frame


def cmd_flush() -> Any:
    """Send pending feedback now, showing progress; records another notebook is sending are left to it."""
    from ..store.outbox import default_outbox

    handle: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal handle
        from IPython.display import display

        text = {"text/plain": f"flushing the outbox: {done}/{total}"}
        if handle is None:
            handle = display(text, raw=True, display_id=True)
        else:
            handle.update(text, raw=True)

    return default_outbox().flush(on_progress=progress)


def cmd_store() -> Notice:
    """Where the local store lives and what it holds (rows per table; the outbox by status)."""
    from ..store.database import default_store

    store = default_store()
    conn = store.connection()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    counts = ", ".join(f"{t}: {conn.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0]}" for t in tables)
    outbox = ", ".join(f"{status} {n}" for status, n in
                       conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status"))
    return Notice(f"Local store `{store.path}` (schema version {store.schema_version()}): {counts or 'no tables'}"
                  + (f"; outbox: {outbox}" if outbox else ""))


@dataclass
class CacheReport:
    """``%orq cache``: entries and bytes per deployment, with the limits in force."""

    rows: list[dict[str, Any]]
    entries: int
    size: int
    max_bytes: int
    max_age_days: float
    path: str

    def _lines(self) -> tuple[str, list[tuple[str, int, str, str]]]:
        head = (f"Response cache: {self.entries:,} entries, {_mb(self.size)} of {_mb(self.max_bytes)}; "
                f"answers older than {self.max_age_days:g} days are not used ({self.path})")
        return head, [(r["deployment"], r["entries"], _mb(r["size"]), r["newest"]) for r in self.rows]

    def _repr_markdown_(self) -> str:
        head, rows = self._lines()
        if not rows:
            return head
        table = ["| deployment | entries | size | newest |", "|---|---:|---:|---|"]
        return "\n".join([head, "", *table, *(f"| {d} | {n:,} | {s} | {t} |" for d, n, s, t in rows)])

    def __repr__(self) -> str:
        head, rows = self._lines()
        return "\n".join([head, *(f"  {d:<24} {n:>7,} entries {s:>10}  newest {t}" for d, n, s, t in rows)])


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def cmd_cache(*args: str, max_mb: float | None = None, max_age_days: float | None = None) -> Any:
    """``%orq cache``: what is cached; ``%orq cache clear [KEY]``: forget all of it, or one deployment's."""
    import datetime as dt

    from ..store.cache import response_cache

    cache = response_cache(max_mb, max_age_days)
    if args and args[0] == "clear" and len(args) <= 2:
        gone = cache.clear(args[1] if len(args) == 2 else None)
        where = f" for deployment `{args[1]}`" if len(args) == 2 else ""
        return Notice(f"Cleared {gone:,} cached answers{where}.")
    if args:
        raise ValidationError("usage: %orq cache  |  %orq cache clear [DEPLOYMENT]")
    query = ("SELECT deployment, COUNT(*) AS entries, SUM(size) AS size, MAX(created_at) AS newest "
             "FROM cache GROUP BY deployment ORDER BY deployment")
    rows = [dict(r) for r in cache.store.connection().execute(query)]
    for row in rows:
        row["newest"] = f"{dt.datetime.fromtimestamp(row['newest']):%Y-%m-%d %H:%M}"
    stats = cache.stats()
    return CacheReport(rows, stats["entries"], stats["bytes"], cache.settings.max_bytes,
                       cache.settings.max_age_s / 86_400, str(cache.store.path))


def cmd_runs() -> Any:
    """``%orq runs``: the stored batch runs."""
    from ..store.runs import runs

    return runs()
