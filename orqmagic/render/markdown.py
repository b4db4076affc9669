"""Markdown and plain-text renders of an answer, partial or final."""

from __future__ import annotations

import contextlib
import html
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..result import InvokeResult

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_FENCE_LINE = re.compile(r"^ {0,3}((?:`{3,}|~{3,})[^\n]*)$", re.MULTILINE)


def close_open_fence(text: str) -> str:
    """``text`` with an unclosed code fence closed, so a partial answer renders as intended."""
    opener: str | None = None
    for match in _FENCE.finditer(text):
        fence = match.group(1)
        if opener is None:
            opener = fence
        elif fence[0] == opener[0] and len(fence) >= len(opener):
            opener = None
    if opener is None:
        return text
    return text + ("\n" if not text.endswith("\n") else "") + opener


_INLINE = re.compile(r"`+|\*{1,3}|_{1,3}")


def _flanking(text: str, start: int, end: int) -> tuple[bool, bool]:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else "x"  # a run at the very end may open what is still arriving
    return not after.isspace(), not before.isspace()


def close_open_inline(text: str) -> str:
    """``text`` with emphasis and inline code left open in its last paragraph closed (or a bare opener dropped).

    For interim renders of a streaming answer: ``*How do I rotate my`` renders as
    emphasis instead of flashing a raw asterisk. Code blocks are left to
    :func:`close_open_fence`; list bullets and intraword underscores are not emphasis.
    """
    start = text.rfind("\n\n") + 2 if "\n\n" in text else 0
    para = text[start:]
    stack: list[tuple[str, int]] = []  # open delimiters: (run, position in para)
    code: tuple[str, int] | None = None
    for match in _INLINE.finditer(para):
        run, at = match.group(), match.start()
        if at and para[at - 1] == "\\":
            continue
        if run[0] == "`":
            if code is None:
                code = (run, at)
            elif run == code[0]:
                code = None
            continue
        if code is not None:
            continue
        opens, closes = _flanking(para, at, match.end())
        if run[0] == "_" and opens and closes:
            continue  # snake_case: not emphasis
        if closes and stack and stack[-1][0] == run:
            stack.pop()
        elif opens:
            stack.append((run, at))
    if code is not None:
        stack = [d for d in stack if d[1] < code[1]]
    if not stack and code is None:
        return text
    body = para.rstrip()
    closers = ""
    if code is not None:
        if body.endswith(code[0]) and len(body) - len(code[0]) == code[1]:
            body = body[: code[1]].rstrip()  # a bare opening backtick: drop it until its text arrives
        else:
            closers += code[0]
    for run, at in reversed(stack):
        if len(body) == at + len(run):  # nothing after the opener yet: drop it
            body = body[:at].rstrip()
        else:
            closers += run
    return text[:start] + body + closers


def close_open_markdown(text: str) -> str:
    """An interim render's text, balanced: an open code fence closed, else open emphasis and code spans."""
    fenced = close_open_fence(text)
    return fenced if fenced != text else close_open_inline(text)


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

        when = f"from {dt.datetime.fromtimestamp(result.cached_at):%Y-%m-%d %H:%M}" if result.cached_at is not None else ""
        took = f"took {_format_ms(result.latency_ms)} then" if result.latency_ms is not None else ""
        parts.append(f"cached ({'; '.join(p for p in (when, took) if p)})" if when or took else "cached")
    else:
        if (latency := _format_ms(result.latency_ms)) is not None:
            parts.append(f"latency {latency}")
        if (ttft := _format_ms(result.ttft_ms)) is not None:
            parts.append(f"TTFT {ttft}")
    usage = result.usage or {}
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        parts.append(f"tokens {usage.get('prompt_tokens', '?')} → {usage.get('completion_tokens', '?')}")
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


def render_markdown(result: InvokeResult, *, footer: bool = True) -> str:
    """The settled answer: reasoning folded away, the text, tool calls, retrievals, then the footer."""
    blocks: list[str] = []
    if result.reasoning:
        blocks.append(
            "<details><summary>Reasoning</summary>\n\n"
            + html.escape(result.reasoning)
            + "\n\n</details>"
        )
    if result.text:
        blocks.append(close_open_fence(result.text))
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
    status = _status_line(result)
    if status:
        blocks.append(f"**⚠ {status}**")
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
