"""An answer stays inside its cell: its headings do not join the notebook's outline, its code stays monospace.

JupyterLab's Table of Contents collects the ``#`` headings of Markdown outputs
(and ``<h1>``-``<h6>`` of HTML ones), so an answer's "## Rotate Api Key", six
answers later, fills the author's outline and outranks the author's own
headings. :func:`contain_headings` turns each heading of an answer into a
``<div role="heading">`` (still a heading to a screen reader, still bold, and
its text still Markdown), which no outline collects.

nbconvert's HTML (what nbviewer shows) styles a highlighted ``<pre>`` in a
Markdown output with the page's proportional font; :func:`contained` wraps the
answer in a ``div`` with a scoped ``<style>`` that keeps code monospace there.
"""

from __future__ import annotations

import re

from .balance import _FENCE

ANSWER_CLASS = "orqmagic-answer"
CODE_FONT = "var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace)"
STYLE = (f"<style>.{ANSWER_CLASS} pre, .{ANSWER_CLASS} .highlight pre, .{ANSWER_CLASS} pre code, "
         f".{ANSWER_CLASS} code {{font-family: {CODE_FONT}}}</style>")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
# a heading inside a list item or a quote ("- # Title", "> ## Step"): kept in its container, as bold text
_NESTED_ATX = re.compile(r"^((?: {0,3}(?:>|[-*+]|\d{1,9}[.)])[ \t]*)+)(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"^ {0,3}(?:[-*+>|]|\d+[.)]|#|<|$)|^ {4}|^\t")
SIZES = {1: "1.2em", 2: "1.12em", 3: "1.05em"}  # a little above the body text, well below the notebook's own headings


def heading_html(level: int, text: str) -> str:
    """A heading that no outline collects: a ``div`` with ``role="heading"``, its text left as Markdown."""
    size = SIZES.get(level, "1em")
    return (f'\n<div role="heading" aria-level="{level}" class="orqmagic-heading" '
            f'style="font-weight:600;font-size:{size};margin:0.9em 0 0.3em">\n\n{text.strip()}\n\n</div>\n')


def contain_headings(text: str) -> str:
    """``text`` with every ATX (``## x``) and setext (``x`` over ``===``) heading outside code blocks contained.

    An empty heading (a lone ``#``, also what a stream shows before the words arrive) is dropped.
    """
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            out.append(line)
            continue
        if opener:
            fence = opener.group(1)
            out.append(line)
            continue
        atx = _ATX.match(line)
        if atx:
            words = (atx.group(2) or "").strip()
            out.append(heading_html(len(atx.group(1)), words) if words else "")
            continue
        nested = _NESTED_ATX.match(line)
        if nested:
            words = (nested.group(3) or "").strip()
            out.append(nested.group(1) + (f"**{words}**" if words else ""))
            continue
        setext = _SETEXT.match(line)
        if setext and out and not _NOT_PARAGRAPH.match(out[-1]) and not out[-1].endswith("</div>\n"):
            title = out.pop()
            out.append(heading_html(1 if setext.group(1)[0] == "=" else 2, title))
            continue
        out.append(line)
    return "\n".join(out)


def contained(markdown: str) -> str:
    """``markdown`` wrapped so its code keeps a monospace font in every front end (the style is scoped to it)."""
    return f'{STYLE}\n\n<div class="{ANSWER_CLASS}">\n\n{markdown}\n\n</div>'
