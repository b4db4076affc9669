"""The Binder (repo2docker) files: requirements, a postBuild that installs the package, a start that turns the sandbox on."""

import os
import subprocess
from pathlib import Path

BINDER = Path(__file__).resolve().parents[1] / "binder"


def test_binder_files_are_there_and_executable():
    assert (BINDER / "requirements.txt").read_text().count("jupyterlab") == 1
    for script in ("postBuild", "start"):
        assert os.access(BINDER / script, os.X_OK), f"binder/{script} must be executable"
    assert 'pip install --no-cache-dir ".[notebook]"' in (BINDER / "postBuild").read_text()


def test_start_turns_the_sandbox_on_and_runs_the_command():
    env = {"PATH": os.environ["PATH"]}
    out = subprocess.run(["bash", str(BINDER / "start"), "env"], env=env, capture_output=True, text=True, check=True).stdout
    assert "ORQMAGIC_SANDBOX=1" in out.splitlines() and "ORQMAGIC_SANDBOX_TOKEN_RATE=40" in out.splitlines()


def test_start_respects_an_explicit_choice():
    env = {"PATH": os.environ["PATH"], "ORQMAGIC_SANDBOX": "0"}
    out = subprocess.run(["bash", str(BINDER / "start"), "env"], env=env, capture_output=True, text=True, check=True).stdout
    assert "ORQMAGIC_SANDBOX=0" in out.splitlines()
