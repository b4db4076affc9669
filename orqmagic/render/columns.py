"""The live view of a comparison: columns side by side, each growing as its stream arrives.

The notebook view is one Markdown display with a small HTML frame around each
column's Markdown (the blank lines inside the frame let the answer render as
Markdown). Columns sit in a wrapping flex row, so a narrow screen stacks them;
where styles are stripped (GitHub) they simply follow one another. Colours come
from JupyterLab's theme variables, with translucent fallbacks that read on light
and dark pages. Traffic is bounded as for a single answer: updates at most every
``throttle`` seconds and at most ``BYTES_PER_SECOND``, each column sending a
bounded tail while it streams; the final update sends everything once.

In a terminal the columns print one after another, the first one live.
"""

from __future__ import annotations

import html
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .live import BYTES_PER_SECOND, CURSOR, TAIL_CHARS, TerminalView, shell_kind
from .markdown import close_open_fence, footer_line, render_markdown, render_text, tail_window

if TYPE_CHECKING:
    from ..clients.accumulator import StreamAccumulator
    from ..result import InvokeResult

PLACEHOLDER = "*waiting for the first token…*"
MIN_TAIL = 1_000
DIFF_LIMIT = 4_000  # characters of the first two answers' diff in the view; Comparison.diff() has it all
DIFF_CONTEXT = 8  # unchanged words kept around each change in the view
ROW_STYLE = "display:flex;flex-wrap:wrap;gap:12px;align-items:stretch;margin:4px 0"
COLUMN_STYLE = ("flex:1 1 220px;min-width:0;overflow-x:auto;padding:0 12px;border-radius:6px;"
                "border:1px solid var(--jp-border-color2,rgba(128,128,128,.4));"
                "background:var(--jp-layout-color1,transparent)")
MUTED_STYLE = "color:var(--jp-ui-font-color2,inherit);opacity:.85"
WARN_STYLE = "color:var(--jp-warn-color0,inherit)"
ERROR_STYLE = "color:var(--jp-error-color1,inherit)"
GOOD_STYLE = "color:var(--jp-success-color0,inherit)"


class ColumnLike(Protocol):
    label: str
    deployment: str
    acc: StreamAccumulator
    result: InvokeResult | None


def _header(label: str, deployment: str) -> str:
    extra = "" if label == deployment else f' <span style="{MUTED_STYLE}">{html.escape(deployment)}</span>'
    return f"**{_escape_md(label)}**{extra}"


def _escape_md(text: str) -> str:
    return html.escape(text).replace("*", "\\*").replace("_", "\\_")


def _frame(header: str, body: str) -> str:
    # Blank lines around the body end the HTML block, so the body is read as Markdown.
    return f'<div class="orqmagic-column" style="{COLUMN_STYLE}">\n\n{header}\n\n{body}\n\n</div>'


def _row(columns: Sequence[str]) -> str:
    return f'<div class="orqmagic-compare" style="{ROW_STYLE}">\n\n' + "\n\n".join(columns) + "\n\n</div>"


def _error_line(result: InvokeResult) -> str:
    return f'<span style="{ERROR_STYLE}">⚠ {html.escape(result.error or "")}</span>'


def _footer(result: InvokeResult) -> str:
    return f"<sub>{html.escape(footer_line(result))}</sub>"


def _live_body(column: ColumnLike, limit: int, footer: bool) -> str:
    """A column while others may still stream: a bounded tail, a cursor until it ends, then its footer."""
    result = column.result
    if result is not None and result.error and not result.chunks:
        return _error_line(result) + ("\n\n" + _footer(result) if footer else "")
    text = result.text if result is not None else column.acc.text
    if not text and result is None:
        return "*thinking…*" if column.acc.reasoning else PLACEHOLDER
    tail, skipped = tail_window(text, limit)
    head = f"*… {skipped:,} characters above*\n\n" if skipped else ""
    body = head + close_open_fence(tail)
    if result is None:
        return body + CURSOR
    if result.error or result.interrupted:
        body += "\n\n" + (_error_line(result) if result.error else "**⚠ interrupted**")
    return body + ("\n\n" + _footer(result) if footer else "")


def live_markdown(columns: Sequence[ColumnLike], *, footer: bool = True) -> str:
    limit = max(MIN_TAIL, TAIL_CHARS // max(len(columns), 1))
    return _row([_frame(_header(c.label, c.deployment), _live_body(c, limit, footer)) for c in columns])


def summary_line(comparison: Any, *, markdown: bool = True) -> str:
    """Fastest, fewest tokens, failures: one line under the columns."""
    from .markdown import _format_ms

    info = comparison.summary()
    parts = []
    if info["fastest"] is not None:
        parts.append(f"fastest: {info['fastest']} ({_format_ms(info['fastest_ms'])})")
    elif info.get("fastest_tied"):
        tied = info["fastest_tied"]
        times = [info["latencies_ms"][label] for label in tied]
        parts.append(f"fastest: tie, {', '.join(tied)} ({_span([_format_ms(t) or '' for t in times])}, "
                     f"within {_format_ms(info['fastest_tolerance_ms'])})")
    if info["fewest_tokens"] is not None:
        parts.append(f"fewest tokens: {info['fewest_tokens']} ({info['tokens']:,})")
    elif info.get("fewest_tokens_tied"):
        tied = info["fewest_tokens_tied"]
        counts = [info["completion_tokens"][label] for label in tied]
        how = f"{counts[0]:,} each" if len(set(counts)) == 1 else f"{_span([f'{c:,}' for c in counts])}, within 5 %"
        parts.append(f"fewest tokens: tie, {', '.join(tied)} ({how})")
    if info["failed"]:
        parts.append(f"failed: {', '.join(info['failed'])}")
    if comparison.wall_ms is not None:
        parts.append(f"wall time {_format_ms(comparison.wall_ms)}")
    if not markdown:
        return " · ".join(parts)
    return f'<span style="{GOOD_STYLE}">' + " · ".join(html.escape(p) for p in parts) + "</span>"


def _span(texts: list[str]) -> str:
    """``1.20–1.23 s`` from the lowest and highest of several formatted values (one unit written once)."""
    low, high = texts[0], texts[-1]
    if low == high:
        return low
    low_number, _, low_unit = low.partition(" ")
    _, _, high_unit = high.partition(" ")
    return f"{low_number}–{high}" if low_unit == high_unit else f"{low}–{high}"


def _status(comparison: Any) -> str | None:
    if not comparison.interrupted:
        return None
    stopped = comparison.summary()["interrupted"]
    return f"interrupted: {len(stopped)} of {len(comparison)} columns stopped early, partial answers kept"


def _final_column(result: InvokeResult, footer: bool) -> str:
    if result.error and not result.chunks:
        return _error_line(result) + ("\n\n" + _footer(result) if footer else "")
    return render_markdown(result, footer=footer)


def _diffable(comparison: Any) -> bool:
    return len(comparison) >= 2 and all(comparison.results[label].text for label in comparison.labels[:2])


def final_markdown(comparison: Any, *, footer: bool = True) -> str:
    """The settled comparison: status, summary row, the columns, and the diff of the first two."""
    blocks = []
    if (status := _status(comparison)) is not None:
        blocks.append(f'<span style="{WARN_STYLE}">**⚠ {status}**</span>')
    blocks.append(summary_line(comparison))
    blocks.append(_row([_frame(_header(label, r.deployment), _final_column(r, footer))
                        for label, r in comparison.results.items()]))
    if _diffable(comparison):
        blocks.append(comparison.diff().html(limit=DIFF_LIMIT, context=DIFF_CONTEXT))
    return "\n\n".join(blocks)


def final_text(comparison: Any, *, footer: bool = True, diff: bool = False) -> str:
    """The comparison as plain text: the columns one after another."""
    parts = []
    if (status := _status(comparison)) is not None:
        parts.append(f"[{status}]")
    for label, result in comparison.results.items():
        title = label if label == result.deployment else f"{label} ({result.deployment})"
        body = f"[{result.error}]" if result.error and not result.chunks else render_text(result, footer=footer)
        parts.append(f"── {title} ──\n{body}")
    parts.append(summary_line(comparison, markdown=False))
    if diff and _diffable(comparison):
        parts.append(comparison.diff().text(limit=DIFF_LIMIT, context=DIFF_CONTEXT))
    return "\n\n".join(p for p in parts if p)


def final_bundle(comparison: Any, fmt: str, footer: bool) -> dict[str, Any]:
    if fmt == "json":
        data = {label: r.to_dict() for label, r in comparison.results.items()}
        return {"application/json": data, "text/plain": json.dumps(data, indent=2, default=str)}
    if fmt == "text":
        return {"text/plain": final_text(comparison, footer=footer, diff=True)}
    return {"text/markdown": final_markdown(comparison, footer=footer), "text/plain": final_text(comparison, footer=footer)}


class ColumnsView(Protocol):
    def start(self, columns: Sequence[ColumnLike]) -> None: ...

    def update(self, columns: Sequence[ColumnLike]) -> float: ...

    def finish(self, comparison: Any) -> None: ...


class NoColumnsView:
    def start(self, columns: Sequence[ColumnLike]) -> None:
        return None

    def update(self, columns: Sequence[ColumnLike]) -> float:
        return 0.1

    def finish(self, comparison: Any) -> None:
        return None


class ColumnsNotebookView:
    """One display for all columns, replaced in place: throttled while streaming, complete at the end."""

    def __init__(self, *, fmt: str = "markdown", throttle: float = 0.1, footer: bool = True) -> None:
        self._fmt, self._throttle, self._footer = fmt, throttle, footer
        self._next_at = 0.0
        self._handle: Any = None
        self.updates = 0

    def _show(self, bundle: dict[str, Any]) -> None:
        if self._handle is None:
            from IPython.display import display

            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def _render(self, columns: Sequence[ColumnLike]) -> int:
        if self._fmt == "markdown":
            body = live_markdown(columns, footer=self._footer)
            self._show({"text/markdown": body})
        else:
            body = "\n\n".join(f"── {c.label} ──\n" + (tail_window(c.acc.text, MIN_TAIL)[0] or "…")
                               + ("" if c.result else CURSOR) for c in columns)
            self._show({"text/plain": body})
        self.updates += 1
        return len(body)

    def start(self, columns: Sequence[ColumnLike]) -> None:
        """Every column's placeholder at once, before the first token; does not hold back the first text."""
        self._render(columns)

    def update(self, columns: Sequence[ColumnLike]) -> float:
        now = time.monotonic()
        if now < self._next_at:
            return self._next_at - now
        sent = self._render(columns)
        pause = max(self._throttle, sent / BYTES_PER_SECOND)
        self._next_at = now + pause
        return pause

    def finish(self, comparison: Any) -> None:
        self._show(final_bundle(comparison, self._fmt, self._footer))


class ColumnsTerminalView:
    """The columns one after another: the first streams live, each next one follows when its turn comes."""

    def __init__(self, *, footer: bool = True, stream: Any = None) -> None:
        self._out = stream or sys.stdout
        self._footer = footer
        self._views: dict[str, TerminalView] = {}
        self._done = 0

    def _advance(self, columns: Sequence[ColumnLike]) -> None:
        while self._done < len(columns):
            column = columns[self._done]
            if column.label not in self._views:
                title = column.label if column.label == column.deployment else f"{column.label} ({column.deployment})"
                self._out.write(f"── {title} ──\n")
                self._views[column.label] = TerminalView(column.deployment, footer=self._footer, stream=self._out)
            view = self._views[column.label]
            if column.result is None:
                view.update(column.acc)
                return
            if column.result.error and not column.result.chunks:
                self._out.write(f"[{column.result.error}]\n")
            else:
                view.finish(column.result)
            self._out.write("\n")
            self._done += 1

    def start(self, columns: Sequence[ColumnLike]) -> None:
        self._advance(columns)

    def update(self, columns: Sequence[ColumnLike]) -> float:
        self._advance(columns)
        return 0.05

    def finish(self, comparison: Any) -> None:
        self._advance([_Settled(label, r) for label, r in comparison.results.items()])
        if (status := _status(comparison)) is not None:
            self._out.write(f"[{status}]\n")
        self._out.write(summary_line(comparison, markdown=False) + "\n")
        if _diffable(comparison):
            self._out.write(comparison.diff().text(limit=DIFF_LIMIT, context=DIFF_CONTEXT) + "\n")
        self._out.flush()


class _Settled:
    def __init__(self, label: str, result: InvokeResult) -> None:
        from ..clients.accumulator import StreamAccumulator

        self.label, self.deployment, self.result, self.acc = label, result.deployment, result, StreamAccumulator()


def columns_view(*, display: bool | None = None, fmt: str = "markdown", throttle: float = 0.1,
                 footer: bool = True) -> ColumnsView:
    """The view that fits where we run, decided as for a single answer (see ``live_view``)."""
    if display is False:
        return NoColumnsView()
    shell = shell_kind()
    if shell == "kernel":
        return ColumnsNotebookView(fmt=fmt, throttle=throttle, footer=footer)
    if shell == "terminal" or display:
        return ColumnsTerminalView(footer=footer)
    return NoColumnsView()
