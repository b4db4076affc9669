"""``python -m orqmagic.sandbox``: run the sandbox in the foreground."""

from __future__ import annotations

import argparse
import secrets
import sys

from .faults import Faults, FaultSpecError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orqmagic.sandbox",
        description="Local emulator of the orq.ai, Baseten and Galtea APIs used by orqmagic.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", help="the API key to accept (default: a fresh random one)")
    parser.add_argument("--token-rate", type=float, default=60.0, help="stream chunks per second (0: unlimited)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
    parser.add_argument("--faults", default="", help="fault spec, e.g. 'status=503,times=2' (see orqmagic.sandbox.faults)")
    args = parser.parse_args(argv)
    spec = ",".join(p for p in (args.faults, f"latency_ms={args.latency_ms}" if args.latency_ms else "") if p)
    try:
        Faults.parse(spec)
    except FaultSpecError as exc:
        parser.error(str(exc))

    import uvicorn

    from .app import build_app
    from .state import SandboxState

    key = args.key or f"sbx_{secrets.token_urlsafe(12)}"
    state = SandboxState(key=key, faults=Faults.parse(spec), token_rate=args.token_rate)
    url = f"http://{args.host}:{args.port}"
    print(f"orqmagic sandbox on {url}  (accepts key: {key})", flush=True)
    print(f"  export ORQ_BASE_URL={url} BASETEN_BASE_URL={url} GALTEA_BASE_URL={url}", flush=True)
    uvicorn.run(build_app(state), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
