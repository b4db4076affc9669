"""``python -m benchmarks [--quick] [--json FILE] [--only NAME ...]``: run the benchmarks and print their figures."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import batch, cold_start, compare, display, evaluation, frames, judges, panel, review, startup, stream
from ._common import Figure, machine

BENCHMARKS = {"stream": stream, "display": display, "frames": frames, "batch": batch, "startup": startup,
              "evaluation": evaluation, "compare": compare, "panel": panel, "cold_start": cold_start,
              "judges": judges, "review": review}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short pass (fewer repeats, smaller streams)")
    parser.add_argument("--json", metavar="FILE", help="write every figure, with its target, to FILE")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    parser.add_argument("--in-process", action="store_true",
                        help="run every benchmark in this process (default: each in a fresh one)")
    args = parser.parse_args(argv)
    print(f"orqmagic benchmarks on {machine()} ({platform.platform()}){' --quick' if args.quick else ''}")
    figures = []
    for name in args.only or list(BENCHMARKS):
        started = time.perf_counter()
        print(f"\n{name}:", flush=True)
        for figure in _run(name, args.quick, args.in_process):
            figures.append(figure)
            print(figure.line(), flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)")
    met = [f.name for f in figures if f.met is True]
    missed = [f.name for f in figures if f.met is False]
    print(f"\ntargets met: {len(met)}, missed: {len(missed)}")
    for name in missed:
        print(f"  missed: {name}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine(), "quick": args.quick, "figures": [f.as_dict() for f in figures],
                       "targets_met": met, "targets_missed": missed}, handle, indent=2)
        print(f"wrote {args.json}")
    return 0


def _run(name: str, quick: bool, in_process: bool) -> list[Figure]:
    """One benchmark, in a fresh interpreter unless asked otherwise, so that what one benchmark
    leaves behind (kernel clients, threads, a grown heap) does not skew the next."""
    if in_process:
        return BENCHMARKS[name].run(quick)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, "-m", "benchmarks", "--in-process", "--only", name, "--json", str(out)]
        subprocess.run(command + (["--quick"] if quick else []), check=True, stdout=subprocess.DEVNULL)
        data = json.loads(out.read_text())
    fields = {"name", "value", "unit", "target", "better", "note"}
    return [Figure(**{k: v for k, v in f.items() if k in fields}) for f in data["figures"]]


if __name__ == "__main__":
    sys.exit(main())
