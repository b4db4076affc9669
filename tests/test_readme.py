"""README.md runs as pasted: every fenced block, in order, in a fresh kernel against the sandbox.

``python`` and ``ipython`` blocks (Python and magic cells) become the cells of one notebook, executed by
nbclient in a new kernel with no keys, so everything goes to the embedded sandbox. ``bash`` blocks run in a
shell. A block that must not run (commands that install or start servers, output samples) is marked by the
line ``<!-- readme: no-run -->`` right before its fence; any other block must run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NO_RUN = "<!-- readme: no-run -->"
FENCE = re.compile(r"^```([\w-]*)\s*$")


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    run: bool


def blocks(text: str) -> list[Block]:
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"README.md:{i + 1}: a code fence is never closed"
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        found.append(Block(i + 1, opening.group(1), "\n".join(lines[i + 1:end]), previous.strip() != NO_RUN))
        i = end + 1
    return found


BLOCKS = blocks(README.read_text())
CELLS = [b for b in BLOCKS if b.run and b.language in ("python", "ipython")]
SHELL = [b for b in BLOCKS if b.run and b.language == "bash"]


def test_every_block_runs_or_is_marked():
    unrunnable = [f"README.md:{b.line} (```{b.language or ''})" for b in BLOCKS
                  if b.run and b.language not in ("python", "ipython", "bash")]
    assert not unrunnable, f"fence these as python/ipython/bash or mark them with {NO_RUN}: {unrunnable}"
    assert len(CELLS) >= 10


def test_the_block_parser_reads_markers_and_languages():
    text = "intro\n\n```python\nx = 1\n```\n\n<!-- readme: no-run -->\n```bash\nrm -rf /\n```\n```\nout\n```\n"
    assert [(b.line, b.language, b.code, b.run) for b in blocks(text)] == [
        (3, "python", "x = 1", True), (8, "bash", "rm -rf /", False), (11, "", "out", True)]


def dropped_values(code: str) -> list[str]:
    """Expressions in a block whose value a notebook would drop: not the last statement and not a plain call
    (a call like ``answer.feedback(90)`` is there for what it does), or a call that builds a table."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    source = TransformerManager().transform_cell(code)
    body = ast.parse(source).body
    tables = ("summarize", "list_metrics", "list_deployments", "to_frame", "runs", "load_run", "fetch_metrics",
              "wide_metrics", "entries")
    dropped = []
    for node in body[:-1]:
        if not isinstance(node, ast.Expr) or "get_ipython" in ast.unparse(node):
            continue
        call = node.value if isinstance(node.value, ast.Call) else None
        name = call and (call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", ""))
        if call is None or name in tables:
            dropped.append(ast.unparse(node)[:60])
    return dropped


def test_blocks_show_the_tables_they_are_about():
    """Only a cell's last value is shown: a table in the middle of a block is wrapped in display() or print()."""
    hidden = {f"README.md:{b.line}": dropped_values(b.code) for b in CELLS}
    assert not {where: what for where, what in hidden.items() if what}


def _kernel_env(tmp_path: Path) -> dict[str, str]:
    """A new user's machine: no keys, no base URLs, state in a temporary home."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_BASE_URL")) and k not in ("ORQMAGIC_SANDBOX", "ORQMAGIC_SANDBOX_FAULTS")}
    env.update({"ORQMAGIC_HOME": str(tmp_path / "home"), "ORQMAGIC_OUTBOX": str(tmp_path / "outbox.jsonl"),
                "ORQMAGIC_SANDBOX_TOKEN_RATE": "0", "MPLBACKEND": "Agg"})
    return env


def test_readme_cells_run_in_order_in_a_fresh_kernel(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    for name, value in _kernel_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in [k for k in os.environ if k.endswith(("_API_KEY", "_BASE_URL"))] + ["ORQMAGIC_SANDBOX"]:
        monkeypatch.delenv(name, raising=False)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(b.code) for b in CELLS])
    started: list[int] = []
    # A README cell takes seconds: a cell still running after two minutes is stuck, and the failure names it
    # (within the suite's 300 s per test, which would only say "timeout").
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                            on_cell_execute=lambda cell, cell_index: started.append(cell_index))
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as exc:
        block = CELLS[started[-1]]
        first = str(exc).strip().splitlines()[-1]
        pytest.fail(f"README.md:{block.line}: the ```{block.language} block failed: {first}\n{block.code}\n{exc}")
    assert len(started) == len(CELLS)
    for cell, block in zip(notebook.cells, CELLS, strict=True):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"README.md:{block.line}: {errors}"


def test_readme_shell_blocks_run(tmp_path):
    """Unmarked bash blocks run as pasted, with this interpreter's ``python`` first on PATH."""
    env = _kernel_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    assert SHELL, "the README shows no shell command that can run here"
    for block in SHELL:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, env=env)
        assert done.returncode == 0, f"README.md:{block.line}: {done.stderr[-2000:]}"
        assert done.stdout.strip(), f"README.md:{block.line} printed nothing"


def test_readme_commands_are_present():
    text = README.read_text()
    assert 'ORQMAGIC_SANDBOX=1 .venv/bin/python -m orqmagic.execute notebooks/01-quickstart.ipynb' in text
    assert "<!-- test-command -->" in text and '.[dev,sdk-compat]' in text
