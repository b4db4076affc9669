"""Sending a batch's rows concurrently, on an asyncio loop in a worker thread.

The loop runs in its own thread with httpx's async client, so it works the
same in a plain script and in a Jupyter kernel (whose own loop is already
running). Ctrl-C in the caller's thread cancels the in-flight calls; every
row that finished is kept. A row is cached and recorded (for a named run) the
moment it finishes, with no ``await`` in between, so cancelling never leaves a
row half-recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..clients.accumulator import StreamAccumulator
from ..clients.orq import deployment_body
from ..errors import OrqMagicError
from . import worker as aio

if TYPE_CHECKING:
    from ..clients import AsyncOrqClient
    from ..store.cache import ResponseCache
    from ..store.runs import Recorder
    from .progress import Progress


class RowSender:
    """The rows still to send (``todo``), sent concurrently; each finished row is cached/recorded at once."""

    def __init__(self, key: str, requests: list[dict[str, Any]], slots: list[tuple[int, int]], todo: list[int],
                 concurrency: int, client_factory: Callable[[], Any], progress: Progress, *,
                 cache: ResponseCache | None = None, base_url: str = "", run: Recorder | None = None) -> None:
        self.key, self.requests, self.slots, self.todo, self.concurrency = key, requests, slots, todo, concurrency
        self.results: list[dict[str, Any] | None] = [None] * len(slots)
        self._client_factory = client_factory
        self._progress = progress
        self._cache, self._base_url, self._run = cache, base_url, run

    async def run(self) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        client: AsyncOrqClient = self._client_factory()
        try:
            tasks = [asyncio.ensure_future(self._one(client, semaphore, i)) for i in self.todo]
            try:
                await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await client.aclose()

    async def _one(self, client: AsyncOrqClient, semaphore: asyncio.Semaphore, index: int) -> None:
        row, trial = self.slots[index]
        request = self.requests[row]
        cached = None
        if self._cache is not None:
            cached = self._cache.call(deployment_body(self.key, stream=True, **request), base_url=self._base_url,
                                      trial=trial)
        acc = StreamAccumulator()
        error: str | None = None
        if cached is not None and cached.hit is not None:
            for chunk in cached.hit.chunks:
                acc.add(chunk)
            latency, ttft = cached.hit.latency_ms, cached.hit.ttft_ms
        else:
            kept: list[dict[str, Any]] | None = [] if cached is not None else None
            async with semaphore:
                started = time.perf_counter()
                first: float | None = None
                try:
                    async for chunk in client.stream(self.key, **request):
                        if first is None:
                            first = time.perf_counter()
                        if kept is not None:
                            kept.append(chunk)
                        acc.add(chunk)
                except OrqMagicError as exc:
                    error = str(exc)
            latency = (time.perf_counter() - started) * 1000 if error is None else None
            ttft = None if first is None else (first - started) * 1000
            if kept is not None and cached is not None and error is None and acc.final:
                cached.save(kept, latency_ms=latency, ttft_ms=ttft)
        usage = acc.usage or {}
        result = {
            "text": acc.text if acc.chunks else None, "id": acc.id, "model": acc.model_name,
            "latency_ms": None if latency is None else round(latency, 1),  # 0.1 ms: what a person reads
            "ttft_ms": None if ttft is None else round(ttft, 1),
            "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens"),
            "finish_reason": acc.finish_reason, "error": error,
        }
        if cached is not None:
            result["cached"] = cached.hit is not None
        self.results[index] = result
        if self._run is not None:
            self._run.record(row, trial, result)
        self._progress.update(failed=error is not None, cached=cached is not None and cached.hit is not None)


def run_in_worker(batch: RowSender) -> bool:
    """Run the batch loop in a worker thread (the loop comparisons share); True if Ctrl-C interrupted it."""
    return aio.run_in_worker(batch.run(), name="orqmagic-batch")
