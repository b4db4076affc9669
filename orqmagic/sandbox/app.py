"""The sandbox's Starlette app: auth and faults shared by all routes, plus inspection.

All three services live under their real paths in one app (they do not
collide), and one key is accepted for all of them.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import HEADER, Faults, FaultSpecError
from .state import SandboxState

Handler = Callable[[Request, SandboxState, Faults], Awaitable[Response]]


def error_response(service: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in the shape each real service uses."""
    if service == "orq":
        body: dict[str, Any] = {"message": message, "code": status, "details": None}
    elif service == "galtea":
        body = {"error": _REASONS.get(status, "Error"), "message": message}
    else:
        body = {"error": message}
    return JSONResponse(body, status_code=status, headers=headers)


_REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _authorised(request: Request, state: SandboxState, service: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    schemes = ("Bearer", "Api-Key") if service == "baseten" else ("Bearer",)
    return scheme in schemes and token.strip() == state.key


def endpoint(service: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a route: check the key, apply faults, log the request."""

    async def route(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        response = await _handle(service, handler, request, state)
        state.log_request(request.method, request.url.path, response.status_code)
        return response

    return route


async def _handle(service: str, handler: Handler, request: Request, state: SandboxState) -> Response:
    if not _authorised(request, state, service):
        return error_response(service, 401, "Invalid or missing API key")
    try:
        extra = Faults.parse(request.headers.get(HEADER))
    except FaultSpecError as exc:
        return error_response(service, 400, f"bad {HEADER} header: {exc}")
    faults = state.faults.merged(extra)
    if faults.match and not request.url.path.startswith(faults.match):
        faults = Faults()
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    counter_key = request.headers.get(HEADER) or "global"
    if state.counter.should_fail(faults, counter_key):
        headers = {}
        if faults.retry_after is not None:
            headers = {"Retry-After": str(math.ceil(faults.retry_after)),
                       "retry-after-ms": str(int(faults.retry_after * 1000))}
        status = faults.status or 500
        return error_response(service, status, f"injected fault: {status}", headers)
    return await handler(request, state, faults)


async def read_json(request: Request, service: str) -> tuple[Any, Response | None]:
    try:
        return json.loads(await request.body()), None
    except ValueError:
        return None, error_response(service, 400, "the request body is not valid JSON")


async def _received(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    snapshot = state.snapshot()
    kind = request.query_params.get("kind")
    if kind:
        snapshot["received"] = [r for r in snapshot["received"] if r["kind"] == kind]
    return JSONResponse(snapshot)


async def _faults(request: Request) -> Response:
    """``PUT /_sandbox/faults`` with a spec as the body sets the global faults (empty clears)."""
    state: SandboxState = request.app.state.sandbox
    if request.method == "PUT":
        if not _authorised(request, state, "orq"):
            return error_response("orq", 401, "Invalid or missing API key")
        try:
            state.faults = Faults.parse((await request.body()).decode())
        except FaultSpecError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        state.counter.reset()
    return JSONResponse({"faults": {k: v for k, v in vars(state.faults).items() if v not in (None, 0, "", False)}})


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True, "services": ["orq", "baseten", "galtea"]})


def build_app(state: SandboxState) -> Starlette:
    from . import baseten, galtea, orq

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
