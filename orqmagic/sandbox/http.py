"""HTTP helpers every sandbox route shares: the key check, injected faults, errors and JSON bodies.

Kept apart from :mod:`.app` (which assembles the routes) so the route modules :mod:`.orq`,
:mod:`.baseten` and :mod:`.galtea` import these without importing the app that imports them.
May import: the sandbox's own :mod:`.faults` and :mod:`.state`, Starlette.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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


def authorised(request: Request, state: SandboxState, service: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    schemes = ("Bearer", "Api-Key") if service == "baseten" else ("Bearer",)
    return scheme in schemes and token.strip() == state.key


def endpoint(service: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a route: check the key, apply faults, log the request."""

    async def route(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        state.begin()
        try:
            response = await _handle(service, handler, request, state)
        finally:
            state.end()
        state.log_request(request.method, request.url.path, response.status_code)
        return response

    return route


async def _handle(service: str, handler: Handler, request: Request, state: SandboxState) -> Response:
    if not authorised(request, state, service):
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


MAX_DEPTH = 64


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively, so a deep body cannot exhaust the stack here)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


async def read_json(request: Request, service: str) -> tuple[Any, Response | None]:
    """The body as JSON; 400 for invalid JSON, NaN/Infinity (not JSON) and bodies nested too deeply."""
    try:
        body = json.loads(await request.body(), parse_constant=_no_constant)
    except RecursionError:
        return None, error_response(service, 400, f"the request body nests deeper than {MAX_DEPTH} levels")
    except ValueError as exc:
        return None, error_response(service, 400, f"the request body is not valid JSON ({str(exc)[:80]})")
    if _depth(body) > MAX_DEPTH:
        return None, error_response(service, 400, f"the request body nests deeper than {MAX_DEPTH} levels")
    return body, None
