"""``python -m orqmagic.execute`` runs a notebook without warning noise of its own making, and leaves nothing behind."""

import os
import subprocess
import sys

import nbformat


def test_the_runner_prints_no_kernel_transport_warning_and_leaves_no_sockets(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hello from the kernel')")])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, str(path))
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-m", "orqmagic.execute", str(path), "--output", str(tmp_path / "out.ipynb")],
                          cwd=work, capture_output=True, text=True, timeout=120, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert "hello from the kernel" in done.stdout
    assert "WARNING" not in done.stderr and "without encryption" not in done.stderr, done.stderr
    assert list(work.iterdir()) == []  # no IPC socket files in the working directory
