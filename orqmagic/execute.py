"""``python -m orqmagic.execute NOTEBOOK``: run a notebook top to bottom and print what it showed.

For the quickstart on a fresh machine and for checking notebooks in CI. With no
keys in the environment (or ``ORQMAGIC_SANDBOX=1``) everything runs against the
local sandbox. The executed copy is written beside the output path, outputs kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MISSING_EXTRA = "running notebooks needs nbclient, nbformat and ipykernel: pip install 'orqmagic[notebook]'"


def _require_notebook_extra() -> None:
    """Exit with one line naming the extra, rather than a traceback, when the notebook extra is missing."""
    import importlib.util

    try:
        missing = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]
    except (ImportError, ValueError):
        missing = ["nbclient"]
    if missing:
        raise SystemExit(f"{MISSING_EXTRA} ({', '.join(missing)} not installed)")


@contextlib.contextmanager
def _kernel_options() -> Iterator[dict[str, Any]]:
    """NotebookClient options for a kernel on IPC sockets in a private temporary folder (POSIX only).

    Over TCP without CurveZMQ keys ipykernel warns, rightly, that anyone on the machine could
    connect; Unix sockets in a folder only we can read need no encryption, so the warning is
    gone at its source rather than filtered. nbclient still makes, owns and shuts down the
    kernel; the folder goes afterwards (nothing lands in the working directory, where the
    default IPC socket names would go).
    """
    if os.name != "posix":
        yield {}
        return
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="orqmagic-kernel-") as folder:
        config = Config()
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(folder, "kernel")
        yield {"config": config}


def execute(path: str | Path, *, output: str | Path | None = None, timeout: int = 600) -> Any:
    """Execute ``path`` with nbclient; return the executed notebook (also saved to ``output``)."""
    _require_notebook_extra()
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(str(path), as_version=4)
    with _kernel_options() as options:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(Path(path).parent)}}, **options)
        client.execute()
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(output))
    return notebook


def text_of(output: Any) -> str:
    if output.output_type == "stream":
        return output.text
    data = output.get("data", {})
    if "text/plain" in data:
        return data["text/plain"]
    if "text/markdown" in data:
        return data["text/markdown"]
    return f"[{', '.join(data)}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orqmagic.execute", description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--output", help="where to save the executed notebook (default: build/<name>)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    args = parser.parse_args(argv)
    output = args.output or Path("build") / Path(args.notebook).name
    _require_notebook_extra()
    from nbclient.exceptions import CellExecutionError

    try:
        notebook = execute(args.notebook, output=output)
    except CellExecutionError as exc:
        print(f"a cell failed:\n{exc}", file=sys.stderr)
        return 1
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    if not args.quiet:
        for index, cell in enumerate(code_cells, 1):
            first_line = cell.source.splitlines()[0][:70] if cell.source else ""
            print(f"\n── In [{index}] {first_line}")
            for out in cell.outputs:
                print(text_of(out).rstrip())
    print(f"\n{args.notebook}: {len(code_cells)} code cells ran without error; executed copy: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
