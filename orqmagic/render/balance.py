"""Interim renders of a streaming answer, balanced: what is still arriving never shows as raw Markdown.

A prefix of an answer can end inside a code fence, an emphasis, a code span or a
table whose delimiter row has not arrived. Rendered as it is, that prefix flashes
raw syntax (``*How do ▌``, ``| step | owner ▌``) which the next update takes away.
Each function here returns the prefix closed (fences, emphasis, code spans) or
cut back to what renders as intended (a table shows once its delimiter row is in).
"""

from __future__ import annotations

import re

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
        closing_last = match.end() == len(para) and stack and stack[-1][0] == run  # ``_x_`` as the text ends
        if run[0] == "_" and opens and closes and not closing_last:
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


_ROW = re.compile(r"^ {0,3}\|")
_DELIMITER_CELL = re.compile(r"^\s*:?-+:?\s*$")


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return re.split(r"(?<!\\)\|", inner)


def hold_back_table(text: str) -> str:
    """``text`` without a trailing table whose delimiter row is not complete yet.

    Until ``|---|---|`` and its line break arrive under the header, a table is a
    paragraph of pipes; from then on it shows, each row once its line is complete.
    """
    lines = text.split("\n")
    end = len(lines) - 1 if lines[-1] == "" else len(lines)  # a final line break ends the last line
    start = end
    while start and _ROW.match(lines[start - 1]):
        start -= 1
    if start == end:
        return text
    rows = lines[start:end]
    delimited = len(rows) >= 3 or (len(rows) == 2 and end < len(lines))
    if delimited:
        header, delimiter = _cells(rows[0]), _cells(rows[1])
        if len(header) == len(delimiter) and all(_DELIMITER_CELL.match(cell) for cell in delimiter):
            partial_row = len(rows) >= 3 and end == len(lines)
            return "\n".join(lines[:end - 1]) if partial_row else text  # a row shows once its line is complete
    return "\n".join(lines[:start]).rstrip("\n")


def close_open_markdown(text: str) -> str:
    """An interim render's text, balanced: an open code fence closed, else a table held back until its
    delimiter row is in, and open emphasis and code spans closed."""
    fenced = close_open_fence(text)
    return fenced if fenced != text else close_open_inline(hold_back_table(text))
