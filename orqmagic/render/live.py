"""The live view of a streaming answer.

In a notebook the answer is one display whose content is replaced at most
every ``throttle`` seconds, and less often when the re-sent text is large, so
display traffic per second stays bounded (``BYTES_PER_SECOND``) instead of
growing with the square of the answer. Long answers show a bounded tail while
streaming; the final update re-sends the whole answer once. That final update
replaces the same display, so a saved notebook holds exactly one output per call.

In a terminal the new text is printed as it comes. ``update`` is called on the
streaming hot path and returns at once unless an update is due.
"""

from __future__ import annotations

import contextvars
import html
import json
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from .markdown import close_open_markdown, footer_line, render_markdown, render_text, tail_window

if TYPE_CHECKING:
    from ..clients.accumulator import StreamAccumulator
    from ..result import InvokeResult

BYTES_PER_SECOND = 48_000
TAIL_CHARS = 6_000
CURSOR = " ▍"
WAITING = "waiting for the first token"
TICK_SECONDS = 0.5
PLACEHOLDER_DELAY = 0.25  # an answer or an error within this needs no placeholder


class LiveView(Protocol):
    def update(self, acc: StreamAccumulator) -> None: ...

    def finish(self, result: InvokeResult) -> None: ...

    def status(self, message: str) -> None:
        """A transient note while waiting (``rate limited, retrying in 20 s``); the next text replaces it."""

    def abandon(self) -> None:
        """The call failed before any text: take down the placeholder (the error is reported elsewhere)."""


class NoView:
    """No display: plain Python scripts, batch runs."""

    def update(self, acc: StreamAccumulator) -> None:
        return None

    def finish(self, result: InvokeResult) -> None:
        return None

    def status(self, message: str) -> None:
        return None

    def abandon(self) -> None:
        return None


def rounded(value: Any, digits: int = 3) -> Any:
    """Floats to significant digits all through a JSON-like value (``1325.0481100000115`` → ``1325.0``,
    a retrieval score ``0.9213`` → ``0.921``), with as many more digits as keep distinct floats distinct."""
    from .numbers import digits_to_tell_apart, round_significant

    def floats(item: Any) -> Iterable[float]:
        if isinstance(item, float):
            yield item
        elif isinstance(item, dict):
            for v in item.values():
                yield from floats(v)
        elif isinstance(item, list):
            for v in item:
                yield from floats(v)

    needed = digits_to_tell_apart(floats(value), digits)

    def walk(item: Any) -> Any:
        if isinstance(item, float):
            return round_significant(item, needed)
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value)


def placeholder_markdown(deployment: str, elapsed: float, note: str | None = None) -> str:
    """What shows before the first token: who is being asked and for how long."""
    return f"*{html.escape(deployment)} · {html.escape(note or WAITING)} · {elapsed:.1f} s*"


def final_bundle(result: InvokeResult, fmt: str, footer: bool) -> dict[str, Any]:
    """The MIME bundle of the settled answer, as saved in the notebook."""
    if fmt == "json":
        data = rounded(result.to_dict())
        text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
        tail = f"\n\n<sub>{html.escape(footer_line(result))}</sub>" if footer else ""
        plain = f"\n-- {footer_line(result)}" if footer else ""
        return {"text/markdown": f"```json\n{text}\n```{tail}", "text/plain": text + plain}
    if fmt == "text":
        return {"text/plain": render_text(result, footer=footer)}
    return {"text/markdown": render_markdown(result, footer=footer), "text/plain": render_text(result, footer=footer)}


class NotebookView:
    """One display, updated in place: a placeholder until the first token, throttled while streaming,
    complete at the end. The placeholder shows when no text came within ``placeholder_delay`` seconds and its
    clock ticks in a small thread until text arrives (``placeholder_delay=None``: no placeholder)."""

    def __init__(self, deployment: str, *, fmt: str = "markdown", throttle: float = 0.1, footer: bool = True,
                 placeholder_delay: float | None = PLACEHOLDER_DELAY) -> None:
        self._deployment = deployment
        self._fmt = fmt
        self._throttle = throttle
        self._footer = footer
        self._next_at = 0.0
        self._handle: Any = None
        self._lock = threading.Lock()
        self._started_at = time.monotonic()
        self._note: str | None = None
        self._settled = threading.Event()  # set once text arrives or the call ends: the placeholder clock stops
        self.updates = 0
        self._finished = False
        if placeholder_delay is None:
            self._settled.set()
            return
        if placeholder_delay <= 0:
            self._tick()
        # the clock runs in the caller's context, so its output belongs to the running cell
        clock = contextvars.copy_context()
        threading.Thread(target=clock.run, args=(self._clock, placeholder_delay), name="orqmagic-placeholder",
                         daemon=True).start()

    def _show(self, bundle: dict[str, Any], *, placeholder: bool = False) -> None:
        with self._lock:
            if placeholder and self._settled.is_set():
                return  # text arrived meanwhile: never cover it with the placeholder
            if self._handle is None:
                from IPython.display import display

                self._handle = display(bundle, raw=True, display_id=True)
            else:
                self._handle.update(bundle, raw=True)

    def _tick(self) -> None:
        body = placeholder_markdown(self._deployment, time.monotonic() - self._started_at, self._note)
        self._show({"text/markdown": body, "text/plain": body.strip("*")}, placeholder=True)

    def _clock(self, delay: float) -> None:
        """Show the placeholder once ``delay`` passes without text (a fast error shows no output at all),
        then tick its clock until the first text."""
        wait = max(delay, 0.0) or TICK_SECONDS
        while not self._settled.wait(wait):
            self._tick()
            wait = TICK_SECONDS

    def status(self, message: str) -> None:
        """Shown in the placeholder until the first text (e.g. a 429 being waited out)."""
        self._note = message
        self._tick()

    def update(self, acc: StreamAccumulator) -> None:
        now = time.monotonic()
        if now < self._next_at:
            return
        self._settled.set()
        sent = self._render(acc)
        self._next_at = now + max(self._throttle, sent / BYTES_PER_SECOND)

    def _render(self, acc: StreamAccumulator) -> int:
        tail, skipped = tail_window(acc.text, TAIL_CHARS)
        if self._fmt == "text":
            body = ("…\n" if skipped else "") + tail + CURSOR
            self._show({"text/plain": body})
        else:
            head = f"*… {skipped:,} characters above: the whole answer shows when the stream ends.*\n\n" if skipped else ""
            thinking = "*thinking…*\n\n" if acc.reasoning and not acc.text else ""
            body = thinking + head + close_open_markdown(tail) + CURSOR
            self._show({"text/markdown": body})
        self.updates += 1
        return len(body)

    def finish(self, result: InvokeResult) -> None:
        self._settled.set()
        self._finished = True
        self._show(final_bundle(result, self._fmt, self._footer))

    def abandon(self) -> None:
        self._settled.set()
        if self._handle is not None and not self._finished:
            elapsed = time.monotonic() - self._started_at
            note = f"no answer from {self._deployment} ({elapsed:.1f} s)"
            self._show({"text/markdown": f"*{html.escape(note)}*", "text/plain": note})


class TerminalView:
    """Plain IPython or a script with ``display=True``: print the text as it arrives."""

    def __init__(self, deployment: str, *, throttle: float = 0.05, footer: bool = True, stream: Any = None) -> None:
        self._out = stream or sys.stdout
        self._throttle = throttle
        self._footer = footer
        self._printed = 0
        self._next_at = 0.0

    def update(self, acc: StreamAccumulator) -> None:
        now = time.monotonic()
        if now >= self._next_at:
            self._write(acc.text)
            self._next_at = now + self._throttle

    def _write(self, text: str) -> None:
        if len(text) > self._printed:
            self._out.write(text[self._printed:])
            self._out.flush()
            self._printed = len(text)

    def status(self, message: str) -> None:
        self._out.write(f"[{message}]\n")
        self._out.flush()

    def abandon(self) -> None:
        return None

    def finish(self, result: InvokeResult) -> None:
        self._write(result.text)
        for call in result.tool_calls:
            function = call.get("function") or {}
            self._out.write(f"\n[tool call] {function.get('name')}({function.get('arguments')})")
        if result.interrupted or result.error:
            self._out.write("\n[interrupted: partial answer kept]" if result.interrupted else f"\n[stream broke: {result.error}]")
        if self._footer:
            self._out.write(f"\n-- {footer_line(result)}")
        self._out.write("\n")
        self._out.flush()


def live_view(
    deployment: str, *, display: bool | None = None, fmt: str = "markdown", throttle: float = 0.1, footer: bool = True
) -> LiveView:
    """The view that fits where we run: a notebook front end, a terminal, or nothing.

    ``display=None`` decides by the running IPython shell: a kernel (Jupyter,
    VS Code, nbclient) gets the notebook view, the IPython terminal gets printed
    text, and plain Python gets nothing.
    """
    if display is False:
        return NoView()
    shell = shell_kind()
    if shell == "kernel":
        return NotebookView(deployment, fmt=fmt, throttle=throttle, footer=footer)
    if shell == "terminal" or display:
        return TerminalView(deployment, footer=footer)
    return NoView()


def shell_kind() -> str | None:
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return None
    shell = ipython_module.get_ipython()
    if shell is None:
        return None
    return "kernel" if getattr(shell, "kernel", None) is not None else "terminal"
