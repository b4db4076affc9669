"""Keeping the key out of everything: send-time auth, server text redacted before truncation, unchained errors.

Every path by which a key could leak (a client-wide header dict, an echoing server,
a traceback's ``__context__`` or frame locals) is closed in this one module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from ..config import Secret, ServiceConfig
from ..errors import ConfigurationError


class BearerAuth(httpx.Auth):
    """Adds the key at send time, so it lives in no client-wide header dict."""

    def __init__(self, config: ServiceConfig) -> None:
        self._key: Secret | None = config.key
        self._service = config.service

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if self._key is None:
            svc = self._service
            raise ConfigurationError(
                f"no {svc.title} key: set {svc.key_env}, run `%orq login {svc.name}`, "
                "or use the sandbox (`%orq sandbox`)"
            )
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth>"

def server_message(response: httpx.Response, key: Secret | None = None) -> tuple[str, Any]:
    """The server's one-line message, redacted *before* it is cut to length (so no part of a key survives)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, dict):
            message = message.get("message") or json.dumps(message)
        elif isinstance(message, list):
            message = "; ".join(str(m.get("msg", m)) if isinstance(m, dict) else str(m) for m in message)
    if not message:
        message = redact(response.text, key).strip() or response.reason_phrase or "error"
    return one_line(str(message), key, 300), body


def redact(text: str, key: Secret | None) -> str:
    """Strip the key from server-provided text, in case a server echoes it back (always before any truncation)."""
    if key is not None and key.reveal() in text:
        return text.replace(key.reveal(), "********")
    return text


def one_line(text: str, key: Secret | None, limit: int) -> str:
    """``text`` redacted, then its whitespace collapsed and cut to ``limit`` (in that order: no part of a key survives)."""
    return " ".join(redact(text, key).split())[:limit]


def redact_body(body: Any, key: Secret | None) -> Any:
    """The same for a decoded error body (kept on the exception for debugging)."""
    if key is None or body is None:
        return body
    encoded = json.dumps(body)
    return json.loads(redact(encoded, key)) if key.reveal() in encoded else body

def unchained(error: BaseException) -> BaseException:
    """Our error without links to the httpx exception (whose request still carries the Authorization header)."""
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error

def keyless_on_error(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Check ``api_key`` up front; on refusal remove it from ``kwargs`` so no traceback frame's locals hold it."""
    if kwargs.get("api_key") is not None:
        try:
            Secret(kwargs["api_key"])
        except ConfigurationError:
            kwargs.pop("api_key")
            raise
    return kwargs
