"""The sandbox's Starlette app: the routes of all three services, plus inspection (``/_sandbox/...``).

All three services live under their real paths in one app (they do not
collide), and one key is accepted for all of them.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import Faults, FaultSpecError
from .http import authorised, error_response
from .state import SandboxState


async def _received(request: Request) -> Response:
    """What the sandbox received; it holds what clients sent, so it needs the key like every route."""
    state: SandboxState = request.app.state.sandbox
    if not authorised(request, state, "orq"):
        return error_response("orq", 401, "Invalid or missing API key")
    snapshot = state.snapshot()
    kind = request.query_params.get("kind")
    if kind:
        snapshot["received"] = [r for r in snapshot["received"] if r["kind"] == kind]
    return JSONResponse(snapshot)


async def _faults(request: Request) -> Response:
    """``PUT /_sandbox/faults`` with a spec as the body sets the global faults (empty clears)."""
    state: SandboxState = request.app.state.sandbox
    if request.method == "PUT":
        if not authorised(request, state, "orq"):
            return error_response("orq", 401, "Invalid or missing API key")
        try:
            state.faults = Faults.parse((await request.body()).decode())
        except FaultSpecError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        state.counter.reset()
    return JSONResponse({"faults": {k: v for k, v in vars(state.faults).items() if v not in (None, 0, "", False)}})


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True, "services": ["orq", "baseten", "galtea"]})


class _OneLineFaults(logging.Filter):
    """An injected stream drop is logged as one line, not as an ASGI traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ConnectionAbortedError) and str(exc).startswith("sandbox fault"):
            record.msg, record.args, record.exc_info, record.exc_text = f"orqmagic sandbox: {exc}", (), None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"  # asked for, so not an error
        return True


_FILTER = _OneLineFaults()


def build_app(state: SandboxState) -> Starlette:
    from . import baseten, galtea, orq

    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)

    routes = [
        Route("/_sandbox/health", _health),
        Route("/_sandbox/received", _received),
        Route("/_sandbox/faults", _faults, methods=["GET", "PUT"]),
        *orq.routes(),
        *baseten.routes(),
        *galtea.routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app
