"""Markdown and plain-text renders of an answer, partial or final."""

from __future__ import annotations

import contextlib
import html
import json
from typing import TYPE_CHECKING, Any

from .balance import _FENCE_LINE, close_open_fence, close_open_inline, close_open_markdown
from .contain import contain_headings

__all__ = ["close_open_fence", "close_open_inline", "close_open_markdown", "footer_line", "render_markdown",
           "render_text", "tail_window"]

if TYPE_CHECKING:
    from ..result import InvokeResult

def tail_window(text: str, limit: int) -> tuple[str, int]:
    """The last ``limit`` characters or so, cut at a line start, and how many were left out.

    Used by the live view of long answers: re-sending only a bounded tail keeps
    display traffic per update bounded however long the answer grows.
    """
    if len(text) <= limit:
        return text, 0
    cut = text.find("\n", len(text) - limit)
    cut = len(text) - limit if cut == -1 else cut + 1
    head = text[:cut]
    opened = close_open_fence(head) != head  # the cut fell inside a code block: reopen it
    tail = text[cut:]
    if opened:
        openers = _FENCE_LINE.findall(head)
        tail = f"{openers[-1].strip() if openers else '```'}\n{tail}"
    return tail, cut


def _format_ms(ms: float | None) -> str | None:
    if ms is None:
        return None
    from .numbers import duration_ms

    return duration_ms(ms)


def _human(value: Any) -> str:
    from .numbers import human

    return human(value)


def footer_line(result: InvokeResult) -> str:
    """deployment · provider/model · latency · TTFT · tokens in → out · id.

    A replayed answer (``cache=True``) took no time now: where the latency would be, the footer
    says ``cached (from <when>; took <latency> then)``, never the original latency as this call's.
    """
    parts = [result.deployment]
    if result.provider or result.model:
        parts.append("/".join(p for p in (result.provider, result.model) if p))
    if result.cached:
        import datetime as dt

        # UTC, and said so: a saved notebook is read on other clocks than the one that cached the answer
        when = (f"from {dt.datetime.fromtimestamp(result.cached_at, dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
                if result.cached_at is not None else "")
        took = f"took {_format_ms(result.latency_ms)} then" if result.latency_ms is not None else ""
        parts.append(f"cached ({'; '.join(p for p in (when, took) if p)})" if when or took else "cached")
    else:
        if (latency := _format_ms(result.latency_ms)) is not None:
            parts.append(f"latency {latency}")
        if (ttft := _format_ms(result.ttft_ms)) is not None:
            parts.append(f"TTFT {ttft}")
    usage = result.usage or {}
    if "prompt_tokens" in usage or "completion_tokens" in usage:  # a count the server left out reads "?", not "None"
        shown = [("?" if v is None else _human(v)) for v in (usage.get("prompt_tokens"), usage.get("completion_tokens"))]
        parts.append(f"tokens {shown[0]} → {shown[1]}")
    if result.id:
        parts.append(f"id {result.id}")
    if result.sandbox:
        parts.append("sandbox (simulated)")
    return " · ".join(parts)


def _status_line(result: InvokeResult) -> str | None:
    if result.interrupted:
        return "interrupted: partial answer kept"
    if result.error:
        return f"stream broke: {result.error} (partial answer kept)"
    return None


def _tool_calls_markdown(calls: list[dict[str, Any]]) -> str:
    lines = ["**Tool calls**", ""]
    for call in calls:
        function = call.get("function") or {}
        arguments = function.get("arguments") or ""
        with contextlib.suppress(ValueError):
            arguments = json.dumps(json.loads(arguments), indent=2)
        lines += [f"`{function.get('name') or '?'}`", "", "```json", arguments, "```", ""]
    return "\n".join(lines)


def render_markdown(result: InvokeResult, *, footer: bool = True, status: bool = True) -> str:
    """The settled answer: reasoning folded away, the text, tool calls, retrievals, then the footer.

    ``status=False`` leaves out the "interrupted" line, for a view that reports the stop once itself.
    """
    blocks: list[str] = []
    if result.reasoning:
        blocks.append(
            "<details><summary>Reasoning</summary>\n\n"
            + html.escape(result.reasoning)
            + "\n\n</details>"
        )
    if result.text:
        blocks.append(contain_headings(close_open_fence(result.text)))
    if result.tool_calls:
        blocks.append(_tool_calls_markdown(result.tool_calls))
    if result.retrievals:
        cited = [
            f"{i}. *{(r.get('metadata') or {}).get('file_name', 'document')}*: {r.get('document', '')[:160]}"
            for i, r in enumerate(result.retrievals, 1)
        ]
        blocks.append("**Retrievals**\n\n" + "\n".join(cited))
    if not blocks:
        blocks.append("*(no text in the answer)*")
    line = _status_line(result) if status else None
    if line:
        blocks.append(f"**⚠\ufe0e {line}**")
    if footer:
        blocks.append(f"<sub>{html.escape(footer_line(result))}</sub>")
    return "\n\n".join(blocks)


def render_text(result: InvokeResult, *, footer: bool = True) -> str:
    parts: list[str] = []
    if result.reasoning:
        parts.append(f"[reasoning] {result.reasoning}")
    parts.append(result.text or "")
    for call in result.tool_calls:
        function = call.get("function") or {}
        parts.append(f"[tool call] {function.get('name')}({function.get('arguments')})")
    status = _status_line(result)
    if status:
        parts.append(f"[{status}]")
    if footer:
        parts.append(f"-- {footer_line(result)}")
    return "\n".join(p for p in parts if p)
