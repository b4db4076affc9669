"""The tests as a newcomer runs them (issue 19): any clone folder name, a clean tree after, nothing hangs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orqmagic
from tests.tree_guard import changed_since, tree_state

ROOT = Path(__file__).resolve().parents[1]


def test_the_canary_tests_pass_in_a_clone_folder_named_orqmagic(tmp_path):
    """`git clone <repo>` makes a folder called orqmagic: the tests must not mistake their own frames for ours."""
    clone = tmp_path / "orqmagic"
    ignore = shutil.ignore_patterns("__pycache__", ".venv", ".git", ".hypothesis", "test-artifacts", "*.egg-info")
    for part in ("orqmagic", "tests"):
        shutil.copytree(ROOT / part, clone / part, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", clone / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(clone)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           "tests/test_secret_canary.py", "-k", "not notebooks"],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_the_tree_guard_names_a_file_the_tests_rewrote(tmp_path):
    """What conftest checks at the end of every session: a tracked file rewritten, or a stray one, fails the run."""
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / ".gitignore").write_text("test-artifacts/\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "picture.png").write_bytes(b"old picture")
    (tmp_path / "mine.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "start")
    (tmp_path / "mine.py").write_text("x = 2\n")  # a developer's edit in progress, before the session
    before = tree_state(tmp_path)
    assert before is not None and list(before) == ["mine.py"]
    (tmp_path / "test-artifacts").mkdir()
    (tmp_path / "test-artifacts" / "picture.png").write_bytes(b"new picture")  # ignored: fine
    assert changed_since(before, tree_state(tmp_path)) == []
    (tmp_path / "docs" / "picture.png").write_bytes(b"new picture")  # a tracked file rewritten
    (tmp_path / "stray.txt").write_text("left behind")
    assert changed_since(before, tree_state(tmp_path)) == ["docs/picture.png", "stray.txt"]


def test_every_test_has_a_timeout(request):
    """A test waiting on an interrupt that never comes fails after a while instead of hanging CI for ever."""
    assert request.config.pluginmanager.hasplugin("timeout")
    assert float(request.config.getini("timeout")) >= 60
    assert '"pytest-timeout>=' in (ROOT / "pyproject.toml").read_text()  # in the dev extra the README installs


def test_last_result_is_exported_as_documented(sandbox_env):
    assert "last_result" in orqmagic.__all__ and "last_result" in dir(orqmagic)
    answer = orqmagic.invoke("support-bot", "How do I rotate my API key?", display=False)
    assert orqmagic.last_result() is answer
    assert "orqmagic.last_result()" in (ROOT / "README.md").read_text()

