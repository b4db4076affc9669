"""The test suite must leave ``git status`` as it found it: a newcomer's clone stays clean.

Tests write what they make (screenshots, executed notebooks, stores) to ignored or
temporary folders. This guard takes the clone's changed and untracked files, with a
digest of each, before the session and after it; anything new or changed since is a
file the tests wrote where they should not. In a clean clone (CI, a newcomer) that fails
the run; in a tree with edits in progress it is reported only, since the developer may
have edited files while the tests ran.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def tree_state(root: Path) -> dict[str, str] | None:
    """``path -> digest`` of every changed or untracked, not ignored, file; None outside a git clone."""
    try:
        out = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd=root,
                             capture_output=True, check=True, timeout=60).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return None
    entries = out.split("\0")
    state: dict[str, str] = {}
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        if "R" in status or "C" in status:
            i += 1  # the rename's source path follows; the destination is what exists now
        file = root / path
        state[path] = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else f"{status} (gone)"
    return state


def changed_since(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files whose state differs between the two snapshots (new, changed further, or restored are all changes)."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
