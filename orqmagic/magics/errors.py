"""Errors in a cell shown as one line, the way jupysql shows them."""

from __future__ import annotations


class CellError(Exception):
    """A service or stream error raised from a magic: the cell fails, the user sees one line.

    IPython calls ``_render_traceback_`` instead of printing a traceback; set
    ``%config OrqMagic.show_traceback = True`` to get the original exception.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m{self}\x1b[0m"]


class CellInterrupted(CellError, KeyboardInterrupt):
    """Ctrl-C stopped a magic that keeps what it had (a comparison): one line, and a run of cells stops here."""
