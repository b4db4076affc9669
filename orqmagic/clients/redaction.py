"""Keeping secrets out of everything: send-time auth, server text redacted before truncation, unchained errors.

The secrets are the key and any credentials the base URL carried (userinfo,
query, fragment: see :func:`orqmagic.config.split_url`). Every path by which one
could leak (a client-wide header dict or URL, an echoing server, a traceback's
``__context__`` or frame locals) is closed in this one module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Union
from urllib.parse import quote, quote_plus

import httpx

from ..config import Secret, ServiceConfig, safe_url
from ..errors import ConfigurationError

Secrets = Union[Secret, ServiceConfig, None]
MASK = "********"


class BearerAuth(httpx.Auth):
    """Adds the key (and the base URL's query) at send time, so neither lives in a client-wide dict or URL.

    With a query to add, the request sent is a copy: the one in the caller's
    frame (and so in a verbose traceback's locals) keeps the URL without it.
    """

    def __init__(self, config: ServiceConfig) -> None:
        self._key: Secret | None = config.key
        self._query: Secret | None = config.query
        self._service = config.service

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if self._key is None:
            svc = self._service
            raise ConfigurationError(
                f"no {svc.title} key: set {svc.key_env}, run `%orq login {svc.name}`, "
                "or use the sandbox (`%orq sandbox`)"
            )
        if self._query is not None:
            url = request.url.copy_with(query=_joined(self._query.reveal(), request.url.query))
            request = httpx.Request(request.method, url, headers=request.headers, stream=request.stream,
                                    extensions=request.extensions)
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth>"

def server_message(response: httpx.Response, key: Secrets = None) -> tuple[str, Any]:
    """The server's one-line message, redacted *before* it is cut to length (so no part of a secret survives)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
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


def _joined(ours: str, theirs: bytes) -> bytes:
    return ours.encode() + b"&" + theirs if theirs else ours.encode()


def _values(secrets: Secrets) -> Iterable[str]:
    if secrets is None:
        return ()
    if isinstance(secrets, Secret):
        return (secrets.reveal(),)
    return (s.reveal() for s in secrets.secrets())


def forms(secrets: Secrets) -> list[str]:
    """Every spelling in which a secret may come back: as is, JSON-escaped, URL-encoded; longest first."""
    out: set[str] = set()
    for value in _values(secrets):
        for form in (value, quote(value, safe=""), quote(value), quote_plus(value, safe="")):
            out.update((form, json.dumps(form)[1:-1], json.dumps(form, ensure_ascii=False)[1:-1]))
    out.discard("")
    return sorted(out, key=len, reverse=True)


def redact(text: str, secrets: Secrets) -> str:
    """Strip every secret, in every spelling, from text (server-provided or not); always before any truncation."""
    for form in forms(secrets):
        if form in text:
            text = text.replace(form, MASK)
    return text


def one_line(text: str, secrets: Secrets, limit: int) -> str:
    """``text`` redacted, then its whitespace collapsed and cut to ``limit`` (in that order: no part of a secret survives)."""
    return " ".join(redact(text, secrets).split())[:limit]


def redact_body(body: Any, secrets: Secrets) -> Any:
    """The same for a decoded error body (kept on the exception for debugging); a body redaction broke stays text."""
    if body is None or secrets is None:
        return body
    encoded = json.dumps(body)
    cleaned = redact(encoded, secrets)
    if cleaned == encoded:
        return body
    try:
        return json.loads(cleaned)
    except ValueError:
        return cleaned

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


__all__ = ["BearerAuth", "forms", "keyless_on_error", "one_line", "redact", "redact_body", "safe_url", "server_message",
           "unchained"]
