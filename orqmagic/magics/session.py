"""``%orq`` commands, as plain functions returning displayable objects."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Any

from .. import api
from ..config import SERVICES, resolve, sandbox_mode_active, set_key, use_remote, use_sandbox
from ..errors import ValidationError

COMMANDS = ("sandbox", "remote", "status", "login", "deployments", "outbox", "flush")


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
    return api.list_deployments()


def cmd_outbox() -> Any:
    from ..outbox import default_outbox

    box = default_outbox()
    pending = box.pending()
    if not pending:
        return Notice(f"The outbox is empty (`{box.path}`).")
    import pandas as pd

    return pd.DataFrame([
        {"submission_id": p["id"], "transaction_id": p["transaction_id"],
         "score": (p["body"].get("feedback") or {}).get("score"), "queued_at": pd.Timestamp(p["queued_at"], unit="s", tz="UTC"),
         "error": p.get("error")}
        for p in pending
    ])


def cmd_flush() -> Any:
    from ..outbox import default_outbox

    return default_outbox().flush()
