"""Reading an event stream: the response as :class:`httpx_sse.EventSource` sees it, with a clock on data events."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx


class DataClock:
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
