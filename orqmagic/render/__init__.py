"""How things look: Markdown and text renders, numbers for humans, tables, theme colours, live views.

Owns the Markdown/text rendering of answers (:mod:`.markdown`), the live view while a stream runs
(:mod:`.live`), side-by-side columns and diffs (:mod:`.columns`, :mod:`.diff`), summary tables
(:mod:`.table`), rounding (:mod:`.numbers`) and colours readable in light and dark (:mod:`.theme`).

May import: :mod:`orqmagic.errors`, :mod:`orqmagic.config` and :mod:`orqmagic.clients` (the stream
accumulator it draws). It renders what it is given and never imports results, evaluation or
widgets at run time (they import it), so a result, a batch and a plot all speak one visual language.
"""

from .live import LiveView, live_view
from .markdown import close_open_fence, footer_line, render_markdown, render_text

__all__ = ["LiveView", "close_open_fence", "footer_line", "live_view", "render_markdown", "render_text"]
