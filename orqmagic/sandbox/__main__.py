"""``python -m orqmagic.sandbox``: run the sandbox in the foreground."""

from __future__ import annotations

import argparse
import secrets
import shlex
import socket
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
    from .connections import server_config
    from .state import SandboxState

    key = args.key or f"sbx_{secrets.token_urlsafe(12)}"
    state = SandboxState(key=key, faults=Faults.parse(spec), token_rate=args.token_rate)
    # Bind first, so --port 0 prints the port the system chose, not 0.
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    sock.listen(128)  # connections made as soon as the banner is printed wait in the backlog, not refused
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{port}"
    exports = " ".join(f"{service}_BASE_URL={shlex.quote(url)} {service}_API_KEY={shlex.quote(key)}"
                       for service in ("ORQ", "BASETEN", "GALTEA"))
    print(f"orqmagic sandbox on {url}  (accepts key: {key})", flush=True)
    print("Point a shell or a notebook server at it with:", flush=True)
    print(f"  export {exports}", flush=True)
    server = uvicorn.Server(server_config(build_app(state), log_level="warning", access_log=False))
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
