"""Nothing public moved with the layout: the top-level names, the old module paths and the two programs."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import orqmagic

OLD_PATHS = sorted(orqmagic._MOVED)


@pytest.mark.parametrize("name", orqmagic.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(orqmagic, name) is not None


@pytest.mark.parametrize("old", OLD_PATHS)
def test_an_old_module_path_is_the_moved_module(old: str) -> None:
    moved = importlib.import_module(orqmagic._MOVED[old])
    assert importlib.import_module(old) is moved
    assert moved.__spec__.name == moved.__name__  # the alias does not rename the real module


def test_the_documented_store_path_still_imports() -> None:
    from orqmagic.store import default_store
    from orqmagic.store.database import default_store as moved

    assert default_store is moved


@pytest.mark.parametrize("program", ["orqmagic.sandbox", "orqmagic.execute"])
def test_the_programs_still_run(program: str) -> None:
    done = subprocess.run([sys.executable, "-m", program, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()
