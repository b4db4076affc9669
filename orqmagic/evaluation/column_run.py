"""The calls of a comparison: every column streamed at once on one async client.

Kept apart from :mod:`.comparison` (the answers and what to do with them) because this is the
only part that talks to the network: a column's stream, its replay from the response cache, and
the "did you mean" hint after a 404. It runs in the worker thread's loop (:mod:`.worker`); the
caller's thread draws the live view and is woken through ``wake`` whenever a column has news.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..clients.orq import deployment_hint
from ..errors import NotFoundError, OrqMagicError
from ..result import InvokeResult
from .variants import Column

if TYPE_CHECKING:
    from ..clients import AsyncOrqClient


class ColumnRun:
    """The columns' calls on one async client, at most ``concurrency`` at a time."""

    def __init__(self, columns: list[Column], *, stream: bool, concurrency: int,
                 client_factory: Callable[[], AsyncOrqClient], wake: threading.Event, owns_client: bool) -> None:
        self.columns, self.stream, self.concurrency = columns, stream, concurrency
        self._client_factory, self._wake, self._owns_client = client_factory, wake, owns_client
        self.sandbox = False
        self._known: list[str] | None = None
        self._known_lock = asyncio.Lock()

    async def run(self) -> None:
        client = self._client_factory()
        self.sandbox = client.config.sandbox
        semaphore = asyncio.Semaphore(self.concurrency)
        try:
            await asyncio.gather(*(self._one(client, semaphore, c) for c in self.columns))
        finally:
            if self._owns_client:
                await client.aclose()

    async def _one(self, client: AsyncOrqClient, semaphore: asyncio.Semaphore, column: Column) -> None:
        started = time.perf_counter()
        first: float | None = None
        error: str | None = None
        complete = interrupted = False
        hit = column.cached.hit if column.cached is not None else None
        column.kept = [] if column.cached is not None and hit is None else None
        try:
            if hit is not None:  # replayed from the response cache: nothing is sent
                for chunk in hit.chunks:
                    column.acc.add(chunk)
                self._wake.set()
            else:
                async with semaphore:
                    started = time.perf_counter()
                    first = await self._fetch(client, column)
            complete = True
        except OrqMagicError as exc:
            error = " ".join(str(exc).split())
            if isinstance(exc, NotFoundError):
                column.not_found = True
                error += await self._hint(client, column.deployment, exc.server_message)
        except asyncio.CancelledError:
            interrupted = True
        column.result = InvokeResult.from_accumulator(
            column.acc, deployment=column.deployment, complete=complete, interrupted=interrupted, error=error,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=None if first is None else (first - started) * 1000,
            streamed=self.stream, sandbox=client.config.sandbox,
        )
        if hit is not None:
            column.result.cached, column.result.cached_at = True, hit.created_at
            column.result.latency_ms, column.result.ttft_ms = hit.latency_ms, hit.ttft_ms
        self._wake.set()

    async def _fetch(self, client: AsyncOrqClient, column: Column) -> float | None:
        """Stream (or invoke) one column; returns when its first chunk arrived."""
        first: float | None = None
        if not self.stream:
            response = await client.invoke(column.deployment, **column.request)
            column.acc.add(response)
            column.acc.final = True  # one invoke response is the whole answer
            if column.kept is not None:
                column.kept.append(response)
            return None
        chunks = client.stream(column.deployment, **column.request)
        try:
            async for chunk in chunks:
                if first is None:
                    first = time.perf_counter()
                if column.kept is not None:
                    column.kept.append(chunk)
                if column.acc.add(chunk):
                    self._wake.set()
        finally:
            await chunks.aclose()  # closes the HTTP response at once, also on Ctrl-C
        return first

    async def _hint(self, client: AsyncOrqClient, deployment: str, server_message: str) -> str:
        """For a 404: the closest existing deployment key, or the keys there are (listed once per run)."""
        if "did you mean" in server_message.lower():
            return ""  # the server suggested already
        async with self._known_lock:
            if self._known is None:
                try:
                    self._known = [d["key"] for d in await client.list_deployments() if d.get("key")]
                except OrqMagicError:
                    self._known = []
        if not self._known:
            return ""
        return deployment_hint(deployment, server_message, self._known) or f" (deployments: {', '.join(self._known[:8])})"
