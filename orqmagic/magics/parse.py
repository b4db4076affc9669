"""Reading a magic's option line the way a shell would, shared by every magic."""

from __future__ import annotations

import keyword
import shlex
from typing import Any

from IPython.core.error import UsageError


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (IPython hands it to the magic).

    A ``#`` starts a comment only outside quotes and at the start of a word, so
    ``--mock "issue #4"`` and ``tag=a#b`` keep theirs.
    """
    if "#" not in line:
        return line
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def parse_line(magic: Any, line: str) -> Any:
    """Parse a magic line the way a shell would: quotes group words and are removed; a ``# comment`` is dropped."""
    try:
        argv = shlex.split(strip_comment(line))
    except ValueError as exc:
        raise UsageError(f"cannot read the options: {exc}") from None
    args = magic.parser.parse_args(argv)
    out = getattr(args, "out", None)
    if out is not None and (not out.isidentifier() or keyword.iskeyword(out)):  # checked before anything is sent
        raise UsageError(f"-o needs a variable name, got {out!r}")
    return args
