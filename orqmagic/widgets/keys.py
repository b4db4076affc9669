"""Single keystrokes from a focused ipywidgets ``Text``, without a custom front end.

ipywidgets has no key events, and a custom front-end module would need a
JupyterLab extension of its own. A ``Text`` with ``continuous_update`` sends
its value on every keystroke, works the same in JupyterLab and Notebook 7, and
a focused input keeps Jupyter's command-mode shortcuts from firing. The kernel
reads the characters added since the value it last saw and clears the box.

Clearing from the kernel races with typing: the front end may send ``"34"``
after the kernel processed ``"3"`` and cleared the box, or apply the clear and
then an older echo. So a clear does not write ``""`` but an invisible
*generation marker* (zero-width characters spelling a counter): every value the
front end sends says which clear it was typed after, and the decoder diffs it
against the last value of that generation. Each keystroke is read exactly once,
in order, however messages interleave (a hypothesis test drives the races).
"""

from __future__ import annotations

ZERO, ONE, END = "\u200b", "\u200c", "\u2060"  # zero-width space / non-joiner spell the counter, word joiner ends it
MARKS = frozenset((ZERO, ONE, END))
KEEP = 64  # generations remembered; older values (long-delayed echoes) are read against nothing


def marker(generation: int) -> str:
    """The invisible prefix a clear writes: ``generation`` in binary, then the end mark."""
    return "".join(ONE if bit == "1" else ZERO for bit in bin(generation)[2:]) + END


def generation_of(value: str) -> int | None:
    """The generation a value was typed after, or None if it carries no intact marker."""
    end = value.find(END)
    if end <= 0 or any(c not in (ZERO, ONE) for c in value[:end]):
        return None
    return int("".join("1" if c == ONE else "0" for c in value[:end]), 2)


class KeyDecoder:
    """Turns successive values of the key box into the keys typed, each once.

    ``feed(value)`` returns the new characters; ``clear()`` returns the value to
    write into the box (the next generation's marker).
    """

    def __init__(self) -> None:
        self.generation = 0
        self._last: dict[int, str] = {0: marker(0)}

    def initial(self) -> str:
        return self._last[0]

    def feed(self, value: str) -> str:
        generation = generation_of(value)
        before = self._last.get(generation, "") if generation is not None else ""
        common = 0
        for a, b in zip(before, value, strict=False):
            if a != b:
                break
            common += 1
        if generation is not None:
            self._last[generation] = value
        return "".join(c for c in value[common:] if c not in MARKS)

    def clear(self) -> str:
        self.generation += 1
        self._last[self.generation] = marker(self.generation)
        for old in [g for g in self._last if g < self.generation - KEEP]:
            del self._last[old]
        return self._last[self.generation]


__all__ = ["KeyDecoder", "generation_of", "marker"]
