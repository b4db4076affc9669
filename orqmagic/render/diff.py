"""A word-level diff of two answers: HTML with insertions and deletions marked, and a plain-text form.

Words keep their trailing whitespace in the output, so line breaks survive. The
marks use translucent green and red over the page's own background and keep the
page's text colour, which reads in light and dark themes alike.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+\s*|\s+")
INS_STYLE = "background:rgba(46,160,67,.28);text-decoration:none;border-radius:2px"
DEL_STYLE = "background:rgba(248,81,73,.28);text-decoration:line-through;border-radius:2px"


def word_ops(a: str, b: str) -> list[tuple[str, str]]:
    """``(op, text)`` pieces that turn ``a`` into ``b``: op is ``=``, ``-`` or ``+``."""
    wa, wb = _WORD.findall(a), _WORD.findall(b)
    ops: list[tuple[str, str]] = []
    # Words are matched without their trailing whitespace ("fox" at the end equals "fox " before more words).
    matcher = difflib.SequenceMatcher(None, [w.strip() or w for w in wa], [w.strip() or w for w in wb], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("=", "".join(wb[j1:j2])))
            continue
        if tag == "replace":  # the insertion brings its own line breaks: keep one space after the deletion
            deleted = "".join(wa[i1:i2])
            ops.append(("-", deleted.rstrip() + (" " if deleted != deleted.rstrip() else "")))
        elif tag == "delete":
            ops.append(("-", "".join(wa[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("+", "".join(wb[j1:j2])))
    return ops


def _html_piece(op: str, text: str) -> str:
    escaped = html.escape(text).replace("\n", "&#10;")  # no raw newline: the block must hold no blank line
    if op == "=":
        return escaped
    tag, style = ("ins", INS_STYLE) if op == "+" else ("del", DEL_STYLE)
    return f'<{tag} style="{style}">{escaped}</{tag}>'


@dataclass(frozen=True)
class TextDiff:
    """The word diff of answer ``a`` (labelled ``a_label``) into answer ``b``."""

    a_label: str
    b_label: str
    ops: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, a: str, b: str, *, a_label: str = "a", b_label: str = "b") -> TextDiff:
        return cls(a_label, b_label, tuple(word_ops(a, b)))

    @property
    def changed(self) -> bool:
        return any(op != "=" for op, _ in self.ops)

    @property
    def ratio(self) -> float:
        """Share of the words the two answers have in common (1.0: identical)."""
        same = sum(len(_WORD.findall(t)) for op, t in self.ops if op == "=")
        total = sum(len(_WORD.findall(t)) for op, t in self.ops if op == "=") * 2 + sum(
            len(_WORD.findall(t)) for op, t in self.ops if op != "=")
        return 1.0 if total == 0 else 2 * same / total

    def _shown(self, context: int | None) -> list[tuple[str, str]]:
        """The ops with long unchanged stretches cut to ``context`` words on each side of a change."""
        if context is None:
            return list(self.ops)
        out: list[tuple[str, str]] = []
        last = len(self.ops) - 1
        for i, (op, text) in enumerate(self.ops):
            words = _WORD.findall(text)
            keep_head = context if i > 0 else 0
            keep_tail = context if i < last else 0
            if op != "=" or len(words) <= keep_head + keep_tail + 1:
                out.append((op, text))
                continue
            out.append(("=", "".join(words[:keep_head]) + "… " + "".join(words[len(words) - keep_tail:])))
        return out

    def html(self, limit: int | None = None, context: int | None = None) -> str:
        """One HTML block without blank lines (so it can sit inside Markdown).

        ``context`` keeps that many unchanged words around each change and cuts
        the rest; ``limit`` caps the characters shown.
        """
        pieces, shown = [], 0
        for op, text in self._shown(context):
            if limit is not None and shown + len(text) > limit:
                pieces.append(_html_piece(op, text[: max(0, limit - shown)]) + " <em>… (diff cut here)</em>")
                break
            pieces.append(_html_piece(op, text))
            shown += len(text)
        body = "".join(pieces) if self.changed else "<em>the two answers are identical</em>"
        legend = (f'<span style="{DEL_STYLE}">{html.escape(self.a_label)}</span> → '
                  f'<span style="{INS_STYLE}">{html.escape(self.b_label)}</span>')
        return (f'<div class="orqmagic-diff" style="line-height:1.6">'
                f'<div style="opacity:.8;margin-bottom:4px">diff {legend} · {self.ratio:.0%} of words in common</div>'
                f'<div style="white-space:pre-wrap;font-family:var(--jp-code-font-family,monospace);'
                f'font-size:var(--jp-code-font-size,13px)">{body}</div></div>')

    def text(self, limit: int | None = None, context: int | None = None) -> str:
        """wdiff style: ``[-deleted-]`` and ``{+inserted+}``; ``context`` and ``limit`` as for :meth:`html`."""
        out = []
        for op, text in self._shown(context):
            out.append(text if op == "=" else (f"[-{text.rstrip()}-]" if op == "-" else f"{{+{text.rstrip()}+}}")
                       + ("" if op == "=" else text[len(text.rstrip()):]))
        body = "".join(out) if self.changed else "(the two answers are identical)"
        if limit is not None and len(body) > limit:
            body = body[:limit] + " … (diff cut here)"
        return f"diff {self.a_label} → {self.b_label} ({self.ratio:.0%} of words in common)\n{body}"

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        changes = sum(op != "=" for op, _ in self.ops)
        return f"TextDiff({self.a_label!r} → {self.b_label!r}, {changes} changes, {self.ratio:.0%} in common)"
