"""Batch runs: one deployment over many inputs, concurrently, in row order.

The batch runs on its own asyncio loop in a worker thread with httpx's async
client, so it works the same in a plain script and in a Jupyter kernel (whose
own loop is already running). Ctrl-C in the caller's thread cancels the
in-flight calls and returns the rows finished so far.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .clients.accumulator import StreamAccumulator
from .clients.orq import deployment_body
from .errors import OrqMagicError, ValidationError
from .templates import TemplateError, interpolate

if TYPE_CHECKING:
    import pandas as pd

    from .clients import AsyncOrqClient
    from .render.table import Summary

RESULT_COLUMNS = ["text", "id", "model", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens",
                  "finish_reason", "error"]


def _rows(rows: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        return rows.reset_index(drop=True)
    if isinstance(rows, Iterable) and not isinstance(rows, (str, bytes, Mapping)):
        rows = list(rows)
        if all(isinstance(r, Mapping) for r in rows):
            return pd.DataFrame(rows)
    raise ValidationError("rows must be a DataFrame or a list of dicts", field="rows")


def build_requests(frame: pd.DataFrame, *, prompt: str | None, inputs_from: Sequence[str] | None,
                   system: str | None, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """One request per row: ``{{column}}`` filled into the prompt, chosen columns as ``inputs``."""
    columns = [str(c) for c in frame.columns]
    if inputs_from is not None:
        missing = [c for c in inputs_from if c not in columns]
        if missing:
            raise ValidationError(f"inputs_from names unknown columns: {', '.join(missing)}", field="inputs_from")
    use_inputs = list(inputs_from) if inputs_from is not None else ([] if prompt else columns)
    requests = []
    for record in frame.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        request = dict(fields)
        if use_inputs:
            request["inputs"] = {c: _plain(row[c]) for c in use_inputs}
        messages = []
        if system:
            messages.append({"role": "system", "content": system})
        if prompt:
            try:
                messages.append({"role": "user", "content": interpolate(prompt, row)})
            except TemplateError as exc:
                raise ValidationError(f"{exc} (the prompt's {{{{names}}}} must be columns: {', '.join(columns)})",
                                      field="prompt") from None
        if messages:
            request["messages"] = messages
        requests.append(request)
    return requests


def _plain(value: Any) -> Any:
    """numpy scalars and NaN into JSON-friendly values."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


class Progress:
    """Counts of a batch (done, failed, and any others such as ``cached`` or ``resumed``) shown by tqdm.

    ``tqdm.auto`` draws a widget in a notebook and a status line in a terminal:
    deployment, done/total, rate and ETA from the start, with failed and the
    other counts after them. With ``mode=None`` it only counts.
    """

    def __init__(self, total: int, mode: str | None, *, deployment: str = "invoke_many") -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.counts: dict[str, int] = {}  # further counts by name, shown after "failed"
        self.started = time.perf_counter()
        self._bar: Any = None
        if mode is not None:
            if mode == "widget":
                from tqdm.auto import tqdm
            else:
                from tqdm import tqdm
            self._bar = tqdm(total=total, desc=deployment, unit="row", file=sys.stderr, mininterval=0.1,
                             dynamic_ncols=True, smoothing=0.2, leave=True)
            self._bar.set_postfix_str(self._postfix(), refresh=True)

    def _postfix(self) -> str:
        return ", ".join(f"{value} {name}" for name, value in {"failed": self.failed, **self.counts}.items())

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        extra = "".join(f" · {value} {name}" for name, value in self.counts.items())
        return f"{self.done}/{self.total} done · {self.failed} failed{extra} · {self.done / elapsed:.1f} rows/s"

    def update(self, failed: bool = False, n: int = 1, **counts: int) -> None:
        """``n`` more rows done (``failed`` ones among them), plus named counts, e.g. ``cached=1``."""
        self.done += n
        self.failed += n if failed else 0
        for name, value in counts.items():
            self.counts[name] = self.counts.get(name, 0) + value
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.update(n)

    def close(self, interrupted: bool) -> None:
        if self._bar is None:
            return
        postfix = self._postfix() + (", interrupted" if interrupted else "")
        self._bar.set_postfix_str(postfix, refresh=True)
        if hasattr(self._bar, "colour") and (interrupted or self.failed):
            self._bar.colour = "#f57c00"  # the warning colour of JupyterLab's themes
        self._bar.close()


def _progress_mode(progress: bool | None) -> str | None:
    if progress is False:
        return None
    from .render.live import shell_kind

    kind = shell_kind()
    if kind == "kernel":
        return "widget"
    return "text" if progress or kind == "terminal" else None


class _Batch:
    def __init__(self, key: str, requests: list[dict[str, Any]], concurrency: int, client_factory: Callable[[], Any],
                 progress: Progress) -> None:
        self.key, self.requests, self.concurrency = key, requests, concurrency
        self.results: list[dict[str, Any] | None] = [None] * len(requests)
        self._client_factory = client_factory
        self._progress = progress

    async def run(self) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        client: AsyncOrqClient = self._client_factory()
        try:
            tasks = [asyncio.ensure_future(self._one(client, semaphore, i, r)) for i, r in enumerate(self.requests)]
            try:
                await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await client.aclose()

    async def _one(self, client: AsyncOrqClient, semaphore: asyncio.Semaphore, index: int, request: dict[str, Any]) -> None:
        async with semaphore:
            acc = StreamAccumulator()
            started = time.perf_counter()
            first: float | None = None
            error: str | None = None
            try:
                async for chunk in client.stream(self.key, **request):
                    if first is None:
                        first = time.perf_counter()
                    acc.add(chunk)
            except OrqMagicError as exc:
                error = str(exc)
            usage = acc.usage or {}
            self.results[index] = {
                "text": acc.text if acc.chunks else None, "id": acc.id, "model": acc.model,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1) if error is None else None,
                "ttft_ms": None if first is None else round((first - started) * 1000, 1),
                "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens"),
                "finish_reason": acc.finish_reason, "error": error,
            }
            self._progress.update(failed=error is not None)


def _run_in_worker(batch: _Batch) -> bool:
    """Run the batch loop in a thread; return True if Ctrl-C interrupted it."""
    loop = asyncio.new_event_loop()
    task = loop.create_task(batch.run())

    def target() -> None:
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    worker = threading.Thread(target=target, name="orqmagic-batch", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except KeyboardInterrupt:
        loop.call_soon_threadsafe(task.cancel)
        worker.join()
        return True
    return False


def invoke_many(
    key: str,
    rows: Any,
    *,
    prompt: str | None = None,
    inputs_from: Sequence[str] | None = None,
    concurrency: int = 8,
    system: str | None = None,
    progress: bool | None = None,
    orq: Any = None,
    **fields: Any,
) -> pd.DataFrame:
    """Call deployment ``key`` once per row and return the rows with the answers, in row order.

    Each row's columns become ``inputs`` (all of them, or ``inputs_from``), or fill
    a ``{{column}}`` ``prompt`` template. ``fields`` are further request fields for
    every call (metadata, context, mock_response, ...). A failed row records its
    error and does not stop the others; 429s are retried after ``Retry-After``.
    Ctrl-C returns the rows finished so far (``df.attrs["interrupted"]``). An input
    column whose name is also a result column (``text``, ``id``, ...) is kept as ``input_<name>``.
    """
    import pandas as pd

    from .clients import AsyncOrqClient, RetryPolicy

    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError("concurrency must be a whole number >= 1", field="concurrency")
    frame = _rows(rows)
    if frame.empty:
        raise ValidationError("no rows to run", field="rows")
    fields = {k: v for k, v in fields.items() if v is not None}
    requests = build_requests(frame, prompt=prompt, inputs_from=inputs_from, system=system, fields=fields)
    if not any(r.get("messages") or r.get("inputs") for r in requests) and "mock_response" not in fields:
        raise ValidationError("nothing to send: give a prompt template or columns for inputs", field="prompt")
    for request in requests[:1]:
        deployment_body(key, stream=True, **request)  # bad fields fail here, before any call
    if orq is None:
        from .config import resolve

        config = resolve("orq")

        def factory() -> AsyncOrqClient:
            return AsyncOrqClient(config=config, retry=RetryPolicy(attempts=8, timeout=300, max_retry_after=60))
    else:
        def factory() -> AsyncOrqClient:
            return orq

    tracker = Progress(len(requests), _progress_mode(progress), deployment=key)
    batch = _Batch(key, requests, concurrency, factory, tracker)
    started = time.perf_counter()
    interrupted = _run_in_worker(batch)
    tracker.close(interrupted)
    finished = [i for i, r in enumerate(batch.results) if r is not None]
    results = pd.DataFrame([batch.results[i] for i in finished], columns=RESULT_COLUMNS, index=finished)
    results = results.astype({"prompt_tokens": "Int64", "completion_tokens": "Int64"})  # 12, not 12.0
    inputs = frame.loc[finished].rename(columns={c: f"input_{c}" for c in frame.columns if c in RESULT_COLUMNS})
    out = inputs.join(results)
    out.attrs.update({"deployment": key, "interrupted": interrupted, "wall_seconds": time.perf_counter() - started,
                      "concurrency": concurrency, "rows": len(frame)})
    return out


def summarize(results: pd.DataFrame) -> Summary:
    """Latency and time-to-first-token percentiles, tokens and the error rate of a batch, as a table.

    The :class:`~orqmagic.render.table.Summary` shows units and rounded numbers
    (HTML in a notebook, aligned text elsewhere); ``summary["latency_p50_ms"]``
    is the raw number. More statistics are added with ``summary.add(...)``.
    """
    from .render.table import Summary

    ok = results[results["error"].isna()]
    latency, ttft = ok["latency_ms"].astype(float), ok["ttft_ms"].astype(float)
    errors = int(results["error"].notna().sum())
    summary = Summary(f"{results.attrs.get('deployment', 'batch')}: {len(results)} rows")
    summary.add("rows", len(results), "count")
    summary.add("errors", errors, "count")
    summary.add("error_rate", errors / len(results) if len(results) else 0.0, "%", label="error rate")
    for q in (50, 90, 99):
        summary.add(f"latency_p{q}_ms", latency.quantile(q / 100), "ms", label=f"latency p{q}")
    summary.add("ttft_p50_ms", ttft.quantile(0.5), "ms", label="time to first token p50")
    summary.add("prompt_tokens", int(ok["prompt_tokens"].sum()), "tokens", label="prompt tokens")
    summary.add("completion_tokens", int(ok["completion_tokens"].sum()), "tokens", label="completion tokens")
    summary.add("completion_tokens_mean", ok["completion_tokens"].astype(float).mean(), "tokens",
                label="completion tokens per row")
    return summary


def send_scores(results: pd.DataFrame, score_column: str = "score", *, comment_column: str | None = None) -> pd.Series:
    """Send each row's score as feedback for its response id, through the outbox (nothing is lost).

    Rows without an id or a score are skipped. Every score is checked before the
    first one is sent. Returns the count of sent / queued / skipped rows.
    """
    import pandas as pd

    from .clients.orq import metrics_body
    from .outbox import default_outbox

    if score_column not in results:
        raise ValidationError(f"no column {score_column!r} in the results", field="score_column")
    todo = []
    for index, row in results.iterrows():
        score = row[score_column]
        if row.get("id") is None or pd.isna(row.get("id")) or pd.isna(score):
            continue
        score = int(score) if isinstance(score, float) and score.is_integer() else _plain(score)
        try:
            metrics_body(score=score)
        except ValidationError as exc:
            raise ValidationError(f"row {index}: {exc}", field=score_column) from None
        comment = row.get(comment_column) if comment_column else None
        todo.append((row["id"], score, None if comment is None or pd.isna(comment) else str(comment)))
    box = default_outbox()
    counts = {"sent": 0, "queued": 0, "skipped": len(results) - len(todo)}
    for response_id, score, comment in todo:
        receipt = box.submit(response_id, score=score, metadata={"comment": comment} if comment else None)
        counts[receipt.status] += 1
    return pd.Series(counts)
