"""Keeping secrets out of everything: send-time auth, server text redacted before truncation, unchained errors.

The secrets are the key and any credentials the base URL carried (userinfo,
query, fragment: see :func:`orqmagic.config.split_url`). Every path by which one
could leak (a client-wide header dict or URL, an echoing server, a traceback's
``__context__`` or frame locals) is closed in this one module.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from ..config import Secret, ServiceConfig, safe_url
from ..errors import ConfigurationError

Secrets = Secret | ServiceConfig | Sequence[Secret] | None
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
        if config.query is not None:
            _quiet_httpx_log()

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


class _NoQueryInLog(logging.Filter):
    """httpx logs each request's URL (``HTTP Request: POST https://...?api_key=...``): shown here without its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) > 1 and str(record.msg).startswith("HTTP Request"):
            record.args = (record.args[0], safe_url(str(record.args[1])), *record.args[2:])
        return True


def _quiet_httpx_log() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _NoQueryInLog) for f in logger.filters):
        logger.addFilter(_NoQueryInLog())


def _joined(ours: str, theirs: bytes) -> bytes:
    return ours.encode() + b"&" + theirs if theirs else ours.encode()


def _values(secrets: Secrets) -> Iterable[str]:
    if secrets is None:
        return ()
    if isinstance(secrets, Secret):
        return (secrets.reveal(),)
    if isinstance(secrets, ServiceConfig):
        return (s.reveal() for s in secrets.secrets())
    return (s.reveal() for s in secrets)


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


def redact_known(text: str) -> str:
    """``text`` less every key and base-URL credential this process could send (see ``config.known_keys``).

    For free text that is kept and sent on: a review comment a person typed, a
    reason a judge wrote (it can echo what its prompt held).
    """
    from ..config import known_keys

    return redact(text, known_keys())


def one_line(text: str, secrets: Secrets, limit: int) -> str:
    """``text`` redacted, then its whitespace collapsed and cut to ``limit`` (in that order: no part of a secret survives)."""
    return " ".join(redact(text, secrets).split())[:limit]


def redact_body(body: Any, secrets: Secrets) -> Any:
    """The same for a decoded error body (kept on the exception for debugging): every string in it, keys too.

    Walking the decoded strings (rather than redacting the body re-encoded as
    JSON) also catches a secret the server escaped itself, such as a key echoed
    as a JSON string inside its message.
    """
    if body is None or secrets is None:
        return body
    spellings = forms(secrets)
    try:
        return _scrub(body, spellings)
    except RecursionError:
        return None  # nested too deeply to walk: not kept at all


def _scrub(value: Any, spellings: list[str]) -> Any:
    if isinstance(value, str):
        for form in spellings:
            if form in value:
                value = value.replace(form, MASK)
        return value
    if isinstance(value, dict):
        return {_scrub(k, spellings): _scrub(v, spellings) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, spellings) for v in value]
    return value


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


__all__ = ["BearerAuth", "forms", "keyless_on_error", "one_line", "redact", "redact_body", "redact_known", "safe_url", "server_message",
           "unchained"]
