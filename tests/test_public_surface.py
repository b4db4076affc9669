"""Nothing public moved with the layout: the top-level names, the old module paths and the two programs."""

from __future__ import annotations

import ast
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


def test_import_orqmagic_imports_only_the_surface() -> None:
    """``import orqmagic`` loads its errors and config and a few dozen standard modules, nothing more.

    Measured at 47 modules in all when the layout moved (the old-path alias costs none: it is a finder
    by protocol, not an ``importlib.abc`` subclass, which alone would pull in 29 more).
    """
    code = "import sys; before = set(sys.modules); import orqmagic; print(sorted(set(sys.modules) - before))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    loaded = ast.literal_eval(out)  # a printed list of module names
    ours = sorted(m for m in loaded if m.split(".")[0] == "orqmagic")
    assert ours == ["orqmagic", "orqmagic._version", "orqmagic.config", "orqmagic.errors"]
    assert len(loaded) <= 55, f"import orqmagic now loads {len(loaded)} modules: {loaded}"
