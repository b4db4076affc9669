"""``python -m benchmarks [--quick] [--json FILE] [--only NAME ...]``: run the benchmarks and print their figures."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from . import batch, display, frames, startup, stream
from ._common import machine

BENCHMARKS = {"stream": stream, "display": display, "frames": frames, "batch": batch, "startup": startup}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short pass (fewer repeats, smaller streams)")
    parser.add_argument("--json", metavar="FILE", help="write every figure, with its target, to FILE")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    args = parser.parse_args(argv)
    print(f"orqmagic benchmarks on {machine()} ({platform.platform()}){' --quick' if args.quick else ''}")
    figures = []
    for name in args.only or list(BENCHMARKS):
        started = time.perf_counter()
        print(f"\n{name}:", flush=True)
        for figure in BENCHMARKS[name].run(args.quick):
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


if __name__ == "__main__":
    sys.exit(main())
