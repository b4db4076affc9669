"""The one HTTP layer under all three service clients.

It owns what every request shares: base URL and key resolution, the
``User-Agent``, timeouts, the request cycle with retries, and turning error
responses and transport failures into :mod:`orqmagic.errors` types. Service
clients only describe their endpoints as :class:`Call` values. The pieces with
one idea each live beside it: :mod:`.retry` (when and how long to retry),
:mod:`.redaction` (keeping the key out of everything), :mod:`.payload` (checking
bodies and path ids) and :mod:`.sse` (timing silence in event streams).
"""

from __future__ import annotations

import functools
import json
import os
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from httpx_sse import EventSource, SSEError

from .._version import __version__
from ..config import Secret, ServiceConfig, resolve
from ..errors import (
    ConfigurationError,
    MalformedChunkError,
    OrqMagicError,
    RequestTimeout,
    StreamInterrupted,
    StreamTimeout,
    TransportError,
    ValidationError,
    error_for_status,
)
from .redaction import BearerAuth, keyless_on_error, one_line, redact_body, server_message, unchained
from .retry import RetryPolicy, parse_retry_after
from .sse import ACCEPT_ENCODING, MAX_BODY, MAX_EVENT, BadEncoding, DataClock, Oversized, aread_body, read_body

USER_AGENT = f"orqmagic/{__version__}"
DEFAULT_TIMEOUT = 30.0
# A stream may think for a long time between tokens; connecting must still fail fast.
STREAM_READ_TIMEOUT = 300.0


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


@functools.lru_cache(maxsize=4)
def default_ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default verifying context, built once per CA setting rather than once per client.

    Loading the CA bundle takes ~30 ms, which every batch and comparison paid again
    for its fresh async client. The arguments are only the cache key: httpx reads
    the same ``SSL_CERT_FILE``/``SSL_CERT_DIR`` itself.
    """
    return httpx.create_ssl_context()


class BaseClient:
    """Configuration shared by the sync and async clients of one service."""

    service: ClassVar[str]
    max_event: int = MAX_EVENT  # characters in one stream event; a larger one is a MalformedChunkError
    max_body: int = MAX_BODY  # bytes of an answer that is not a stream, once inflated; a larger one is an error

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
        try:
            for name, value in (("timeout", timeout), ("stream_timeout", stream_timeout)):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86_400:
                    raise ValidationError(f"{name} must be a number of seconds above 0 (at most a day), got {value!r}",
                                          field=name)
            self.config = config or resolve(self.service, api_key=api_key, base_url=base_url)
        except OrqMagicError:
            api_key = base_url = None  # the key and the URL's credentials stay out of a verbose traceback's locals
            raise
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self._title = self.config.service.title
        self._client_kwargs: dict[str, Any] = {
            "base_url": self.config.base_url,
            "headers": {"User-Agent": USER_AGENT, "Accept": "application/json",
                        "Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},  # inflated piece by piece (see .sse)
            "auth": BearerAuth(self.config),
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            "verify": default_ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
        }
        if transport is not None:
            self._client_kwargs["transport"] = transport

    def _open(self, kind: type) -> Any:
        """The pooled httpx client; a base URL httpx cannot use (a bad host or port) is one ConfigurationError."""
        try:
            return kind(**self._client_kwargs)
        except (httpx.InvalidURL, ValueError) as exc:
            reason = one_line(str(exc), self.config, 120)
        raise ConfigurationError(f"{self._title} base URL {self.config.base_url!r} cannot be used: {reason}")

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
        message, body = server_message(response, self.config)
        error = error_for_status(
            response.status_code,
            message,
            service=self._title,
            body=redact_body(body, self.config),
            retry_after=parse_retry_after(response.headers),
        )
        del body  # as the server sent it, perhaps echoing a secret: not in a verbose traceback's locals
        raise error

    def _decode(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise OrqMagicError(
                f"{self._title} answered {response.status_code} with a body that is not JSON "
                "(or nested too deeply to read)"
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
        reason = one_line(str(exc), self.config, 200) or type(exc).__name__
        return TransportError(f"cannot reach {self._title} at {where}: {reason}")

    def _chunk(self, data: str, count: int) -> dict | None:
        """Parse one SSE ``data`` field; ``None`` means ``[DONE]`` (and only that: ``data: null`` is malformed)."""
        if data == "[DONE]":
            return None
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            chunk = data
        if type(chunk) is dict:
            return chunk
        kinds = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
        what = "not valid JSON" if chunk is data else f"JSON {kinds.get(type(chunk), 'data')}, not an object"
        raise MalformedChunkError(
            f"chunk {count + 1} of the {self._title} stream is {what}; the stream was abandoned there"
        )

    def _unreadable_body(self, response: httpx.Response, exc: Exception) -> OrqMagicError:
        """A whole answer past :attr:`max_body` once inflated, or in an encoding that cannot be read."""
        if isinstance(exc, Oversized):
            return OrqMagicError(f"{self._title} answered {response.status_code} with a body larger than "
                                 f"{self.max_body:,} bytes (the limit); it was not read")
        return OrqMagicError(f"{self._title} answered {response.status_code} with a body that cannot be read: {exc}")

    def _unreadable(self, exc: Exception, count: int) -> MalformedChunkError:
        """An event past the size limit, or a body whose encoding cannot be read."""
        if isinstance(exc, Oversized):
            return MalformedChunkError(
                f"event {count + 1} of the {self._title} stream is larger than {self.max_event:,} characters "
                "(the limit for one event); the stream was abandoned there"
            )
        return MalformedChunkError(f"the {self._title} stream cannot be read after {count} chunks: {exc}")

    def _broken_stream(self, exc: Exception, count: int) -> StreamInterrupted:
        if isinstance(exc, SSEError):
            return StreamInterrupted(f"{self._title} did not answer with an event stream: {exc}")
        if isinstance(exc, httpx.TimeoutException):
            return StreamTimeout(
                f"the {self._title} stream sent nothing for {self.stream_timeout:g} s "
                f"after {count} chunks (stream timeout; keep-alive comments do not count)"
            )
        reason = one_line(str(exc), self.config, 200) or type(exc).__name__
        return StreamInterrupted(f"the {self._title} stream broke after {count} chunks: {reason}")

    def _ended_early(self, count: int) -> StreamInterrupted:
        return StreamInterrupted(
            f"the {self._title} stream ended after {count} chunks without [DONE]"
        )


class SyncClient(BaseClient):
    """Blocking I/O over one pooled :class:`httpx.Client`."""

    def __init__(self, **kwargs: Any) -> None:
        try:
            super().__init__(**keyless_on_error(kwargs))
            self._http = self._open(httpx.Client)
        except OrqMagicError:
            kwargs.clear()  # its api_key and base_url: out of a verbose traceback's locals
            raise

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
                    response = self._http.send(request, stream=True)
                    if not stream or not response.is_success:
                        read_body(response, self.max_body)
                    self._raise_for_status(response)
            return response
        except httpx.HTTPError as exc:
            error = self._transport_error(exc)
        except (Oversized, BadEncoding) as exc:
            error = self._unreadable_body(response, exc)
        raise unchained(error)  # raised outside the handler: no __context__ holding the request and its key

    def _call(self, call: Call) -> Any:
        return self._decode(self._send(call))

    def _events(self, call: Call) -> Iterator[dict]:
        """Yield parsed chunks until ``[DONE]``; close the response however iteration ends."""
        response = self._send(call, stream=True)
        clock = DataClock(response, self.stream_timeout, self.max_event)
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
        except (Oversized, BadEncoding) as exc:
            error = self._unreadable(exc, count)
        finally:
            response.close()
        raise unchained(error or self._ended_early(count))


class AsyncClient(BaseClient):
    """Non-blocking I/O over one pooled :class:`httpx.AsyncClient`."""

    def __init__(self, **kwargs: Any) -> None:
        try:
            super().__init__(**keyless_on_error(kwargs))
            self._http = self._open(httpx.AsyncClient)
        except OrqMagicError:
            kwargs.clear()
            raise

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
                    response = await self._http.send(request, stream=True)
                    if not stream or not response.is_success:
                        await aread_body(response, self.max_body)
                    self._raise_for_status(response)
            return response
        except httpx.HTTPError as exc:
            error = self._transport_error(exc)
        except (Oversized, BadEncoding) as exc:
            error = self._unreadable_body(response, exc)
        raise unchained(error)

    async def _call(self, call: Call) -> Any:
        return self._decode(await self._send(call))

    async def _events(self, call: Call) -> AsyncIterator[dict]:
        response = await self._send(call, stream=True)
        clock = DataClock(response, self.stream_timeout, self.max_event)
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
        except (Oversized, BadEncoding) as exc:
            error = self._unreadable(exc, count)
        finally:
            await response.aclose()
        raise unchained(error or self._ended_early(count))


__all__ = ["AsyncClient", "Call", "SyncClient"]
