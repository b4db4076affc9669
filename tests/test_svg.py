"""The MetricsPanel's SVG is compacted without changing what is drawn (property test over path data)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.frames.svg import _TOKEN, compact_path, compact_svg

coordinate = st.floats(0, 1000, allow_nan=False).map(lambda v: f"{v:.1f}")
point = st.tuples(coordinate, coordinate)
segment = st.one_of(
    st.tuples(st.just("M"), point),
    st.tuples(st.just("L"), point),
    st.tuples(st.just("L"), st.just(("5.0", "5.0"))),  # repeats, as matplotlib's stepped lines write them
    st.tuples(st.just("C"), st.tuples(point, point, point)),
    st.tuples(st.just("z"), st.just(())),
)


def path_text(segments) -> str:
    parts = []
    for command, args in segments:
        flat = [c for p in args for c in p] if args and isinstance(args[0], tuple) else list(args)
        parts.append(" ".join([command, *flat]))
    return "\n".join(parts)


def drawn(data: str) -> list[tuple[str, tuple[str, ...]]]:
    """What a path draws: (command, coordinates) with implicit lines made explicit and repeated line points merged."""
    tokens, out, command, index = _TOKEN.findall(data), [], "", 0
    while index < len(tokens):
        if tokens[index].isalpha():
            command = tokens[index]
            index += 1
            if command in ("z", "Z"):
                out.append(("z", ()))
            continue
        size = 6 if command == "C" else 2
        args = tuple(float(t) for t in tokens[index:index + size])
        index += size
        if command == "L" and out and out[-1] == ("L", args):
            continue
        out.append((command, args))
        command = "L" if command == "M" else command  # pairs after M are lines
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(segment, min_size=1, max_size=30).map(lambda s: [("M", ("1.0", "2.0")), *s]))
def test_compacting_a_path_draws_the_same(segments):
    data = path_text(segments)
    assert drawn(compact_path(data)) == drawn(data)


def test_compact_svg_rounds_path_coordinates_only():
    svg = '<?xml version="1.0"?>\n  <svg width="648pt">\n    <path d="M 1.23456 2.0\nL 3.98765 4.5\nL 3.98765 4.5"/>'
    assert compact_svg(svg) == '<?xml version="1.0"?>\n<svg width="648pt">\n<path d="M 1.2 2 3.9 4.5"/>'
