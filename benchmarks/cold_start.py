"""9. Cold first answer: a fresh kernel's first %%invoke on the embedded sandbox, to the first text on screen.

What a new user sees in the quickstart: the kernel has just started, ``%load_ext orqmagic`` has run, and the
first ``%%invoke`` cell is executed. The clock runs from sending that cell to the kernel until the first
display message carrying the answer's text arrives on IOPub (what JupyterLab would draw; the placeholder shown
after 0.25 s without a token does not count). Each repeat is a new
kernel, so imports, the sandbox start and the first request are all paid, as they are for the user.
"""

from __future__ import annotations

import os
import statistics
import time

from ._common import Figure

CELL = "%%invoke support-bot\nHow do I rotate my API key?"
TEXT_MESSAGES = ("display_data", "update_display_data", "stream", "execute_result")


def _kernel_env() -> dict[str, str]:
    """No keys and no base URLs: the kernel falls back to the embedded sandbox, as on a fresh machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_BASE_URL")) and k != "ORQMAGIC_SANDBOX"}
    env.setdefault("ORQMAGIC_SANDBOX_TOKEN_RATE", "60")
    return env


def _has_text(message: dict) -> bool:
    """A message showing answer text (the "waiting for the first token" placeholder does not count)."""
    from orqmagic.render.live import WAITING

    content = message["content"]
    if message["msg_type"] == "stream":
        return bool(content.get("text", "").strip())
    data = content.get("data", {})
    shown = " ".join(str(data.get(kind, "")) for kind in ("text/markdown", "text/plain"))
    return bool(shown.strip()) and WAITING not in shown


def _wait_idle(client, msg_id: str, timeout: float = 120) -> None:
    while True:
        message = client.get_iopub_msg(timeout=timeout)
        if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                and message["content"]["execution_state"] == "idle"):
            return


def first_answer_ms() -> float:
    """One fresh kernel: load the extension, then time the first %%invoke to its first text."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env=_kernel_env())
    try:
        _wait_idle(client, client.execute("%load_ext orqmagic"))
        started = time.perf_counter()
        msg_id = client.execute(CELL)
        first = None
        while True:
            message = client.get_iopub_msg(timeout=120)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if first is None and message["msg_type"] in TEXT_MESSAGES and _has_text(message):
                first = time.perf_counter()
            if message["msg_type"] == "error":
                raise RuntimeError(f"the cell failed: {message['content'].get('evalue')}")
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        if first is None:
            raise RuntimeError("the cell showed no text")
        return (first - started) * 1000
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(quick: bool) -> list[Figure]:
    samples = [first_answer_ms() for _ in range(3 if quick else 7)]
    return [
        Figure("cold start: first %%invoke to first text (median)", statistics.median(samples), "ms", target=250.0,
               note=f"fresh kernel each time; min {min(samples):.0f} ms, max {max(samples):.0f} ms"),
    ]
