"""Reading an event stream: the response as :class:`httpx_sse.EventSource` sees it, bounded in time and size.

Two things a server can do to a reader, and what stops each here:

* keep a stream open with keep-alive comments and no data: a clock on *data
  events* (httpx's read timeout restarts with every byte);
* send one endless line or event, or a few kilobytes of gzip that inflate to
  hundreds of megabytes: every piece of text is counted since the last blank
  line (the end of an event, so this bounds lines too), and compressed bytes
  are inflated a bounded piece at a time, so no more than ``limit`` characters
  plus one piece are ever held. The whole events before the oversized one are
  still delivered, so no text that arrived whole is lost.

SSE is UTF-8 by definition, whatever charset a server names.
"""

from __future__ import annotations

import codecs
import re
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx

MAX_EVENT = 8 * 1024 * 1024  # characters in one event (every line of it), the largest a stream may send
MAX_BODY = 64 * 1024 * 1024  # bytes, once inflated, of an answer that is not a stream (invoke, listings, errors)
PIECE = 64 * 1024  # bytes: the most a compressed read is inflated to at a time
ACCEPT_ENCODING = "gzip, deflate"  # what a stream request accepts: the encodings inflated here, piece by piece
_BOUNDARIES = ("\n\n", "\r\r", "\n\r")  # two line ends in a row: a blank line, whichever ends a server uses
_BLANK = re.compile("\n\n|\r\r|\n\r")


class Oversized(Exception):
    """An event grew past the limit (turned into a MalformedChunkError by the client, which knows the count)."""


class BadEncoding(Exception):
    """The body's content encoding is not one a stream may use, or its compressed bytes are corrupt."""


class _Inflater:
    """gzip or deflate, inflated at most :data:`PIECE` bytes at a time (zlib's ``max_length``).

    "deflate" may come with the zlib header or raw (servers differ): until the
    first output, the bytes so far are kept so that a raw stream can start over.
    """

    def __init__(self, encoding: str) -> None:
        self._raw_fallback = encoding == "deflate"
        self._start = b""  # the bytes before the first output, while the raw fallback is still open
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS)

    def pieces(self, data: bytes) -> Iterator[bytes]:
        if self._raw_fallback:
            self._start += data
        while True:
            try:
                out = self._zlib.decompress(data, PIECE)
            except zlib.error as exc:
                if not self._raw_fallback:
                    raise BadEncoding(f"its compressed bytes are corrupt ({exc})") from None
                self._raw_fallback = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                data, self._start = self._start, b""
                continue
            if out or len(self._start) > PIECE:
                self._raw_fallback, self._start = False, b""
            if out:
                yield out
            data = self._zlib.unconsumed_tail
            if not data and len(out) < PIECE:
                return


def _inflater(headers: httpx.Headers) -> _Inflater | None:
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise BadEncoding(f"it came encoded as {', '.join(codings)!r}; a stream may use gzip or deflate")
    return _Inflater(codings[0])


class DataClock:
    """The response as EventSource sees it: text timed by data events and bounded in size.

    A stream that went ``silence`` seconds without a data event is abandoned as a
    timeout, keep-alive comments or not; one whose current event passes ``limit``
    characters raises :class:`Oversized`.
    """

    def __init__(self, response: httpx.Response, silence: float, limit: int = MAX_EVENT) -> None:
        self._response = response
        self._silence = silence
        self._limit = limit
        self._last = time.monotonic()
        self._pending = 0  # characters since the last blank line
        self._end = ""  # the last character seen, for a blank line split across two reads
        self.headers = response.headers

    def data(self) -> None:
        self._last = time.monotonic()

    def _check(self) -> None:
        if time.monotonic() - self._last > self._silence:
            raise httpx.ReadTimeout("only keep-alive comments, no data events")

    def _count(self, text: str) -> int | None:
        """Count ``text`` into the current event: ``None`` if all is well, else where the oversized event starts.

        The fast path (nothing in ``text`` could pass the limit) looks only at
        the last blank line; the slow one walks every blank line in ``text``.
        """
        size = len(text)
        if self._pending + size <= self._limit:
            end = text.rfind("\n\n")  # found near the end when events are small
            if "\r" in text:  # a forward memchr: the reverse searches for \r pairs scan every character
                end = max(end, text.rfind("\r\r"), text.rfind("\n\r"))
            if end >= 0:
                self._pending = size - end - 2
            elif self._end + text[0] in _BOUNDARIES:
                self._pending = size - 1
            else:
                self._pending += size - (text[-1] in "\r\n")  # perhaps half of the blank line ending the event
            self._end = text[-1]
            return None
        pending, start = self._pending, 0
        if self._end + text[0] in _BOUNDARIES:
            pending, start = 0, 1
        for blank in _BLANK.finditer(text, start):
            if pending + blank.start() - start > self._limit:
                return start
            pending, start = 0, blank.end()
        rest = size - start - (text[-1] in "\r\n")  # a line end may be half of the blank line that ends the event
        if pending + rest > self._limit:
            return start
        self._pending, self._end = pending + rest, text[-1]
        return None

    def _reader(self) -> Callable[[bytes | None], Iterator[str]]:
        """What both iterators do with each raw read: inflate, decode, count into the event limit.

        The returned function takes one read (``None`` once the body has ended,
        for the decoder's tail) and gives its text, in whole events where it can.
        """
        inflater = _inflater(self._response.headers)
        decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode

        def read(data: bytes | None) -> Iterator[str]:
            if data is None:
                tail = decode(b"", True)
                if tail:
                    yield tail
                return
            for piece in inflater.pieces(data) if inflater is not None else (data,):
                text = decode(piece)
                if text:
                    if text[-2:] == "\n\n" and self._pending + len(text) <= self._limit:  # whole events, small
                        self._pending, self._end = 0, "\n"
                        yield text
                        continue
                    whole = self._count(text)
                    if whole is not None:
                        if whole:
                            yield text[:whole]  # the whole events before the oversized one still go out
                        raise Oversized()
                    yield text
            self._check()

        return read

    def iter_text(self) -> Iterator[str]:
        read = self._reader()
        for data in self._response.iter_raw():
            yield from read(data)
        yield from read(None)

    async def aiter_text(self) -> AsyncIterator[str]:
        read = self._reader()
        async for data in self._response.aiter_raw():
            for text in read(data):
                yield text
        for text in read(None):
            yield text


def _collect(pieces: Iterator[bytes], parts: list[bytes], size: int, limit: int) -> int:
    for piece in pieces:
        size += len(piece)
        if size > limit:
            raise Oversized()
        parts.append(piece)
    return size


def read_body(response: httpx.Response, limit: int = MAX_BODY) -> None:
    """Read a whole (non-stream) body into ``response``, inflating it a bounded piece at a time, at most ``limit`` bytes.

    httpx would inflate a 300 kB gzip bomb into all of its hundreds of megabytes;
    here it stops at the limit with :class:`Oversized`.
    """
    if hasattr(response, "_content"):  # a transport that handed the body over whole (httpx.MockTransport)
        return
    inflater = _inflater(response.headers)
    parts: list[bytes] = []
    size = 0
    try:
        for data in response.iter_raw():
            size = _collect(inflater.pieces(data) if inflater is not None else iter((data,)), parts, size, limit)
    finally:
        response.close()
    response._content = b"".join(parts)  # what response.read() would have set; json() and text read it


async def aread_body(response: httpx.Response, limit: int = MAX_BODY) -> None:
    """:func:`read_body` for an async response."""
    if hasattr(response, "_content"):
        return
    inflater = _inflater(response.headers)
    parts: list[bytes] = []
    size = 0
    try:
        async for data in response.aiter_raw():
            size = _collect(inflater.pieces(data) if inflater is not None else iter((data,)), parts, size, limit)
    finally:
        await response.aclose()
    response._content = b"".join(parts)
