"""How answers look: Markdown and text renders, and the live view while a stream runs."""

from .live import LiveView, live_view
from .markdown import close_open_fence, footer_line, render_markdown, render_text

__all__ = ["LiveView", "close_open_fence", "footer_line", "live_view", "render_markdown", "render_text"]
