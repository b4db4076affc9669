"""Errors in a cell shown as one line, the way jupysql shows them."""

from __future__ import annotations

import textwrap

WRAP = 96  # JupyterLab breaks long error lines anywhere, even mid-word: wrap at word boundaries first


class CellError(Exception):
    """A service or stream error raised from a magic: the cell fails, the user sees one line.

    IPython calls ``_render_traceback_`` instead of printing a traceback; set
    ``%config OrqMagic.show_traceback = True`` to get the original exception.
    A long message is wrapped at word boundaries.
    """

    def _render_traceback_(self) -> list[str]:
        lines = textwrap.wrap(str(self), WRAP, break_long_words=False, break_on_hyphens=False) or [str(self)]
        return [f"\x1b[31m{line}\x1b[0m" for line in lines]


class CellInterrupted(CellError, KeyboardInterrupt):
    """Ctrl-C stopped a magic that keeps what it had (a partial answer, a comparison): one line, no traceback
    through orqmagic, and a run of cells stops here."""
