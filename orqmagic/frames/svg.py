"""Figures to SVG: vector plots that stay crisp and legible at any output width (the MetricsPanel's plot).

Matplotlib writes coordinates to six decimals, one command per line, and every step
of a stepped line twice. On screen a tenth of a point is far below a pixel, so the
SVG is compacted (coordinates to 0.1 pt, repeated points and implicit line commands
dropped): 19 metrics over 14 days stay under 300 KB of display traffic.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_DECIMALS = re.compile(r"(\d+\.\d)\d+")
_POINT_ZERO = re.compile(r"(\d)\.0(?![\d])")
_PATH = re.compile(r'(\sd=")([^"]*)(")')
_TOKEN = re.compile(r"[A-Za-z]|-?[\d.]+(?:e-?\d+)?")


def figure_svg(fig: Figure) -> bytes:
    """SVG bytes with a transparent background; text stays text (smaller, selectable, drawn by the browser's font)."""
    import matplotlib as mpl

    out = io.BytesIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "orqmagic"}):
        fig.savefig(out, format="svg", transparent=True)
    return compact_svg(out.getvalue().decode()).encode()


def compact_path(data: str) -> str:
    """Path data with repeated points and the ``L`` after ``M``/``L`` dropped (SVG reads further pairs as lines)."""
    tokens = _TOKEN.findall(data)
    out: list[str] = []
    command, previous, index = "", None, 0
    while index < len(tokens):
        token = tokens[index]
        if token.isalpha():
            if token == "L" and command in ("M", "L"):
                index += 1  # implicit: pairs after M or L are lines
                command = "L"
                continue
            command = token
            if token != "L":
                previous = None  # a curve or a close moves the pen: the next line is not a repeat
            out.append(token)
            index += 1
            continue
        if command in ("M", "L") and index + 1 < len(tokens):
            point = (token, tokens[index + 1])
            if command == "L" and point == previous:
                index += 2
                continue  # the same point again: a line of no length
            out += point
            previous = point if command == "L" else None  # M then L to the same point may be a dot: kept
            index += 2
            continue
        out.append(token)
        index += 1
    return " ".join(out)


def compact_svg(svg: str) -> str:
    """``svg`` with path coordinates to 0.1 pt and path data compacted, indentation dropped; the rest as written."""
    svg = re.sub(r"\n\s+", "\n", svg)
    return _PATH.sub(lambda m: m.group(1) + compact_path(_POINT_ZERO.sub(r"\1", _DECIMALS.sub(r"\1", m.group(2))))
                     + m.group(3), svg)
