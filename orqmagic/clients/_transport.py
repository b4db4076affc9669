"""The one HTTP layer under all three service clients.

It owns what every request shares: base URL and key resolution, the
``User-Agent``, timeouts, retries with backoff (via stamina), and turning error
responses and transport failures into :mod:`orqmagic.errors` types. Service
clients only describe their endpoints as :class:`Call` values.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import stamina
from httpx_sse import EventSource, SSEError

from .._version import __version__
from ..config import Secret, ServiceConfig, resolve
from ..errors import (
    ConfigurationError,
    MalformedChunkError,
    OrqMagicError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    StreamInterrupted,
    StreamTimeout,
    TransportError,
    ValidationError,
    error_for_status,
)

USER_AGENT = f"orqmagic/{__version__}"
# stamina logs each scheduled retry; without a handler Python would print them raw into the cell. Ours are shown in
# the live view instead, and an app that configures logging still receives them.
logging.getLogger("stamina").addHandler(logging.NullHandler())
DEFAULT_TIMEOUT = 30.0
# A stream may think for a long time between tokens; connecting must still fail fast.
STREAM_READ_TIMEOUT = 300.0
RETRYABLE_READ_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Call:
    """One endpoint call, described without doing any I/O (shared by sync and async clients)."""

    method: str
    path: str
    params: list[tuple[str, str | int]] | None = None
    json: Any = None

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry.

    429 and connection failures are retried for every call: the server did not
    act on the request. 5xx answers and read failures are retried only for
    idempotent reads, because a POST may already have taken effect. A stream is
    retried only before its first byte.
    """

    attempts: int = 4
    timeout: float = 60.0
    wait_initial: float = 0.2
    wait_max: float = 8.0
    max_retry_after: float = 30.0

    def should_retry(self, idempotent: bool) -> Callable[[Exception], bool | float]:
        def hook(exc: Exception) -> bool | float:
            if isinstance(exc, RateLimitError) or (
                idempotent
                and isinstance(exc, ServerError)
                and exc.status_code in RETRYABLE_READ_STATUSES
            ):
                wait = exc.retry_after
                if wait is not None and wait > self.max_retry_after:
                    return False  # longer than we are willing to block a cell: the error says so
                what = "rate limited" if isinstance(exc, RateLimitError) else f"{exc.status_code} from the server"
                _announce(f"{what}, retrying in {wait:.0f} s" if wait is not None else f"{what}, retrying shortly")
                return True if wait is None else wait
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                return True
            return idempotent and isinstance(exc, (httpx.ReadTimeout, httpx.RemoteProtocolError))

        return hook

    def context(self, idempotent: bool) -> Any:
        return stamina.retry_context(
            on=self.should_retry(idempotent),
            attempts=self.attempts,
            timeout=self.timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
        )


NO_RETRY = RetryPolicy(attempts=1)

# Who hears about retry waits in this context (the live view sets it while a cell streams).
retry_listener: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar("retry_listener", default=None)


def _announce(message: str) -> None:
    listener = retry_listener.get()
    if listener is not None:
        with contextlib.suppress(Exception):  # a display problem must not turn a retry into a failure
            listener(message)


class _BearerAuth(httpx.Auth):
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


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` (orq) or ``Retry-After`` (seconds or a date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            seconds = float(millis) / 1000
            if math.isfinite(seconds):
                return max(0.0, seconds)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:  # an HTTP date; anything else ('soon') is unreadable: retry with our own backoff
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        import datetime as dt

        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return max(0.0, parsed.timestamp() - time.time())


def _server_message(response: httpx.Response, key: Secret | None = None) -> tuple[str, Any]:
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
    return " ".join(redact(str(message), key).split())[:300], body


def redact(text: str, key: Secret | None) -> str:
    """Strip the key from server-provided text, in case a server echoes it back (always before any truncation)."""
    if key is not None and key.reveal() in text:
        return text.replace(key.reveal(), "********")
    return text


def redact_body(body: Any, key: Secret | None) -> Any:
    """The same for a decoded error body (kept on the exception for debugging)."""
    if key is None or body is None:
        return body
    encoded = json.dumps(body)
    return json.loads(redact(encoded, key)) if key.reveal() in encoded else body


MAX_JSON_DEPTH = 64


def json_ready(value: Any, field: str) -> Any:
    """``value`` as plain JSON (numpy scalars unwrapped, tuples as lists), or a one-line error naming the place.

    NaN and infinity are not JSON, and an object JSON cannot encode (a datetime,
    a set, bytes, a self-containing dict) is refused here, before anything is sent.
    """
    return _ready(value, field, 0)


def _ready(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{where} nests deeper than {MAX_JSON_DEPTH} levels (or contains itself)", field=where.split(".")[0])
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{where} is {value!r}, which JSON cannot carry; use a finite number or None",
                                  field=where.split(".")[0])
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{where} has a key {key!r} that is not a string", field=where.split(".")[0])
            out[key] = _ready(item, f"{where}.{key}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_ready(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    item = getattr(value, "item", None)  # numpy and pandas scalars
    if callable(item) and type(value).__module__.split(".")[0] in ("numpy", "pandas"):
        try:
            return _ready(item(), where, depth + 1)
        except (TypeError, ValueError):
            pass
    raise ValidationError(f"{where} holds a {type(value).__name__}, which cannot be sent as JSON; "
                          "convert it to a string, number, list or dict", field=where.split(".")[0])


_UNSAFE_IN_ID = frozenset("/\\?#%")


def path_id(value: Any, field: str, *, what: str | None = None) -> str:
    """An id that goes into a URL path, checked so it can never reach another path or carry a query."""
    what = what or field
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty id string", field=field)
    value = value.strip()
    if value in (".", "..") or any(c in _UNSAFE_IN_ID or not c.isprintable() or c.isspace() for c in value):
        raise ValidationError(f"{what} must be a non-empty id without '/', '?', '#', '%', spaces or control characters",
                              field=field)
    return value


def _unchained(error: BaseException) -> BaseException:
    """Our error without links to the httpx exception (whose request still carries the Authorization header)."""
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error


class _DataClock:
    """The response as EventSource sees it, timing silence in *data events*.

    httpx's read timeout restarts with every byte, so a server that sends only
    keep-alive comments would hold a stream open for ever. Every piece of text
    passes through here, and a stream that went ``silence`` seconds without a
    data event is abandoned as a timeout, comments or not.
    """

    def __init__(self, response: httpx.Response, silence: float) -> None:
        self._response = response
        self._silence = silence
        self._last = time.monotonic()
        self.headers = response.headers

    def data(self) -> None:
        self._last = time.monotonic()

    def _check(self) -> None:
        if time.monotonic() - self._last > self._silence:
            raise httpx.ReadTimeout("only keep-alive comments, no data events")

    def iter_text(self) -> Iterator[str]:
        for text in self._response.iter_text():
            self._check()
            yield text

    async def aiter_text(self) -> AsyncIterator[str]:
        async for text in self._response.aiter_text():
            self._check()
            yield text


def _keyless_on_error(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Check ``api_key`` up front; on refusal remove it from ``kwargs`` so no traceback frame's locals hold it."""
    if kwargs.get("api_key") is not None:
        try:
            Secret(kwargs["api_key"])
        except ConfigurationError:
            kwargs.pop("api_key")
            raise
    return kwargs


class BaseClient:
    """Configuration shared by the sync and async clients of one service."""

    service: ClassVar[str]

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stream_timeout: float = STREAM_READ_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        config: ServiceConfig | None = None,
    ) -> None:
        if api_key is not None and not isinstance(api_key, (str, Secret)):
            kind = type(api_key).__name__
            del api_key
            raise ConfigurationError(f"api_key must be a str, got {kind} (the key is not shown)")
        for name, value in (("timeout", timeout), ("stream_timeout", stream_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86_400:
                raise ValidationError(f"{name} must be a number of seconds above 0 (at most a day), got {value!r}", field=name)
        self.config = config or resolve(self.service, api_key=api_key, base_url=base_url)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self._title = self.config.service.title
        self._client_kwargs: dict[str, Any] = {
            "base_url": self.config.base_url,
            "headers": {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            "auth": _BearerAuth(self.config),
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        }
        if transport is not None:
            self._client_kwargs["transport"] = transport

    def __repr__(self) -> str:
        if getattr(self, "config", None) is None:  # shown in a traceback of a failed __init__
            return f"{type(self).__name__}(not configured)"
        where = "sandbox" if self.config.sandbox else "remote"
        key = "set" if self.config.key else "missing"
        return f"{type(self).__name__}(base_url={self.config.base_url!r}, key={key}, {where})"

    # -- shared pieces of the request cycle ---------------------------------------

    def _build(self, call: Call, stream: bool) -> httpx.Request:
        request = self._http.build_request(  # type: ignore[attr-defined]  # set by SyncClient/AsyncClient
            call.method, call.path, params=call.params, json=call.json,
            timeout=httpx.Timeout(self.stream_timeout, connect=min(self.timeout, 10.0)) if stream else httpx.USE_CLIENT_DEFAULT,
        )
        if stream:
            request.headers["Accept"] = "text/event-stream"
        return request

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        message, body = _server_message(response, self.config.key)
        raise error_for_status(
            response.status_code,
            message,
            service=self._title,
            body=redact_body(body, self.config.key),
            retry_after=parse_retry_after(response.headers),
        )

    def _decode(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise OrqMagicError(
                f"{self._title} answered {response.status_code} with a body that is not JSON"
            ) from None

    def _transport_error(self, exc: httpx.HTTPError) -> OrqMagicError:
        where = self.config.base_url
        if isinstance(exc, httpx.TimeoutException):
            phase = {"ConnectTimeout": "connecting", "ReadTimeout": "waiting for data",
                     "WriteTimeout": "sending", "PoolTimeout": "waiting for a connection"}
            return RequestTimeout(
                f"{self._title} at {where} timed out {phase.get(type(exc).__name__, '')} "
                f"(timeout {self.timeout:g} s, streams {self.stream_timeout:g} s)"
            )
        reason = redact(str(exc), self.config.key) or type(exc).__name__
        return TransportError(f"cannot reach {self._title} at {where}: {' '.join(reason.split())[:200]}")

    def _chunk(self, data: str, count: int) -> dict | None:
        """Parse one SSE ``data`` field; ``None`` means ``[DONE]``."""
        if data == "[DONE]":
            return None
        try:
            return json.loads(data)
        except ValueError:
            raise MalformedChunkError(
                f"chunk {count + 1} of the {self._title} stream is not valid JSON; "
                "the stream was abandoned there"
            ) from None

    def _broken_stream(self, exc: Exception, count: int) -> StreamInterrupted:
        if isinstance(exc, SSEError):
            return StreamInterrupted(f"{self._title} did not answer with an event stream: {exc}")
        if isinstance(exc, httpx.TimeoutException):
            return StreamTimeout(
                f"the {self._title} stream sent nothing for {self.stream_timeout:g} s "
                f"after {count} chunks (stream timeout; keep-alive comments do not count)"
            )
        reason = redact(str(exc), self.config.key) or type(exc).__name__
        return StreamInterrupted(f"the {self._title} stream broke after {count} chunks: {' '.join(reason.split())[:200]}")

    def _ended_early(self, count: int) -> StreamInterrupted:
        return StreamInterrupted(
            f"the {self._title} stream ended after {count} chunks without [DONE]"
        )


class SyncClient(BaseClient):
    """Blocking I/O over one pooled :class:`httpx.Client`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_keyless_on_error(kwargs))
        self._http = httpx.Client(**self._client_kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        request = self._build(call, stream)
        try:
            for attempt in self.retry.context(call.idempotent):
                with attempt:
                    response = self._http.send(request, stream=stream)
                    if not response.is_success:
                        response.read()
                        response.close()
                        self._raise_for_status(response)
            return response
        except httpx.HTTPError as exc:
            error = self._transport_error(exc)
        raise _unchained(error)  # raised outside the handler: no __context__ holding the request and its key

    def _call(self, call: Call) -> Any:
        return self._decode(self._send(call))

    def _events(self, call: Call) -> Iterator[dict]:
        """Yield parsed chunks until ``[DONE]``; close the response however iteration ends."""
        response = self._send(call, stream=True)
        clock = _DataClock(response, self.stream_timeout)
        count = 0
        error: StreamInterrupted | None = None
        try:
            for sse in EventSource(clock).iter_sse():  # type: ignore[arg-type]  # duck-typed response
                if not sse.data:
                    continue
                clock.data()
                chunk = self._chunk(sse.data, count)
                if chunk is None:
                    return
                count += 1
                yield chunk
        except (httpx.HTTPError, SSEError) as exc:
            error = self._broken_stream(exc, count)
        finally:
            response.close()
        raise _unchained(error or self._ended_early(count))


class AsyncClient(BaseClient):
    """Non-blocking I/O over one pooled :class:`httpx.AsyncClient`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_keyless_on_error(kwargs))
        self._http = httpx.AsyncClient(**self._client_kwargs)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        request = self._build(call, stream)
        try:
            async for attempt in self.retry.context(call.idempotent):
                with attempt:
                    response = await self._http.send(request, stream=stream)
                    if not response.is_success:
                        await response.aread()
                        await response.aclose()
                        self._raise_for_status(response)
            return response
        except httpx.HTTPError as exc:
            error = self._transport_error(exc)
        raise _unchained(error)

    async def _call(self, call: Call) -> Any:
        return self._decode(await self._send(call))

    async def _events(self, call: Call) -> AsyncIterator[dict]:
        response = await self._send(call, stream=True)
        clock = _DataClock(response, self.stream_timeout)
        count = 0
        error: StreamInterrupted | None = None
        try:
            async for sse in EventSource(clock).aiter_sse():  # type: ignore[arg-type]  # duck-typed response
                if not sse.data:
                    continue
                clock.data()
                chunk = self._chunk(sse.data, count)
                if chunk is None:
                    return
                count += 1
                yield chunk
        except (httpx.HTTPError, SSEError) as exc:
            error = self._broken_stream(exc, count)
        finally:
            await response.aclose()
        raise _unchained(error or self._ended_early(count))


__all__ = ["NO_RETRY", "AsyncClient", "Call", "RetryPolicy", "SyncClient", "json_ready", "path_id"]
