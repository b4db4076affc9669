"""Batch runs: one deployment over many inputs, concurrently, in row order.

The batch runs on its own asyncio loop in a worker thread with httpx's async
client, so it works the same in a plain script and in a Jupyter kernel (whose
own loop is already running). Ctrl-C in the caller's thread cancels the
in-flight calls and returns the rows finished so far.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..clients.orq import deployment_body
from ..errors import ValidationError
from ..store.runs import RESULT_COLUMNS, Recorder, Run, results_frame  # noqa: F401  (RESULT_COLUMNS is re-exported)
from .progress import Progress, progress_mode
from .rows import RowSender, run_in_worker
from .templates import TemplateError, interpolate

if TYPE_CHECKING:
    import pandas as pd

    from ..clients import AsyncOrqClient
    from ..render.table import Summary


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
    run: str | None = None,
    retry_failed: bool = False,
    overwrite: bool = False,
    trials: int = 1,
    cache: bool = False,
    cache_max_mb: float | None = None,
    cache_max_age_days: float | None = None,
    prices: Mapping[str, tuple[float, float]] | None = None,
    **fields: Any,
) -> pd.DataFrame:
    """Call deployment ``key`` once per row and return the rows with the answers, in row order.

    Each row's columns become ``inputs`` (all of them, or ``inputs_from``), or fill
    a ``{{column}}`` ``prompt`` template. ``fields`` are further request fields for
    every call (metadata, context, mock_response, ...). A failed row records its
    error and does not stop the others; 429s are retried after ``Retry-After``.
    Ctrl-C returns the rows finished so far (``df.attrs["interrupted"]``). An input
    column whose name is also a result column (``text``, ``id``, ...) is kept as ``input_<name>``.

    ``run="NAME"`` records every row in the local store as it finishes; calling
    again with the same name sends only the rows not yet recorded (and, with
    ``retry_failed=True``, the failed ones). ``trials=N`` sends every row N times
    (a ``trial`` column). ``cache=True`` replays identical earlier answers (see
    :mod:`orqmagic.store.cache`). ``attrs`` carry token totals and, with ``prices``
    (``{"provider/model": (input_per_1m, output_per_1m)}``), an estimated cost.

    ``concurrency`` (default 8): calls in flight at once. ``system``: a system message before each
    prompt. ``progress`` (default ``None``: a widget in a notebook, a line in a terminal, nothing in a
    script; ``True`` / ``False`` force it). ``overwrite`` (with ``run``): start that run afresh.
    ``cache_max_mb`` / ``cache_max_age_days``: the response cache's limits (default 256 MB, 30 days).
    ``orq``: an :class:`~orqmagic.AsyncOrqClient` (default: one from the configuration).

    The frame follows the package's convention: ``model`` is ``provider/model``, the index is unique
    (with trials, ``case`` and ``trial`` columns say which row and which repetition).
    """
    from ..clients import AsyncOrqClient, RetryPolicy
    from ..store.runs import plan
    from .stats import cost, totals

    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError("concurrency must be a whole number >= 1", field="concurrency")
    _check_options(run=run, retry_failed=retry_failed, overwrite=overwrite, trials=trials, prices=prices)
    frame = _rows(rows)
    if frame.empty:
        raise ValidationError("no rows to run", field="rows")
    fields = {k: v for k, v in fields.items() if v is not None}
    requests = build_requests(frame, prompt=prompt, inputs_from=inputs_from, system=system, fields=fields)
    if not any(r.get("messages") or r.get("inputs") for r in requests) and "mock_response" not in fields:
        raise ValidationError("nothing to send: give a prompt template or columns for inputs", field="prompt")
    deployment_body(key, stream=True, **fields)  # shared fields fail here, before any call
    for request in requests[:1]:
        deployment_body(key, stream=True, **request)  # so does a template or column problem of every row
    # A row's own value that cannot be sent (a datetime, NaN, ...) fails that row alone, with its error.
    if orq is None:
        from ..config import resolve

        config = resolve("orq")

        def factory() -> AsyncOrqClient:
            return AsyncOrqClient(config=config, retry=RetryPolicy(attempts=8, timeout=300, max_retry_after=60))
    else:
        config = orq.config

        def factory() -> AsyncOrqClient:
            return orq

    response_cache = None
    if cache:
        from ..store.cache import response_cache as open_cache

        response_cache = open_cache(cache_max_mb, cache_max_age_days)
    slots = [(row, trial) for row in range(len(requests)) for trial in range(1, trials + 1)]
    stored = Run.open(run, deployment=key, prompt=prompt, requests=requests, inputs=frame, trials=trials,
                      overwrite=overwrite) if run is not None else None
    done, todo = plan(slots, stored.recorded() if stored else {}, retry_failed=retry_failed)
    tracker = Progress(len(slots), progress_mode(progress), deployment=key, resumed=len(slots) - len(todo))
    recorder = Recorder(stored) if stored is not None else None
    batch = RowSender(key, requests, slots, todo, concurrency, factory, tracker, cache=response_cache,
                      base_url=config.base_url, run=recorder)
    batch.results = done
    started = time.perf_counter()
    try:
        interrupted = run_in_worker(batch)
    except BaseException:
        tracker.close(True, " · stopped by an error")  # the clock stops and the line says so
        raise
    finally:
        if recorder is not None:
            recorder.close()  # every finished row is in the store before we return
    finished = [i for i, r in enumerate(batch.results) if r is not None]
    out = results_frame(frame, [slots[i] for i in finished], [batch.results[i] for i in finished], trials=trials,
                        extra=["cached"] if cache else [])
    out.attrs.update({"deployment": key, "interrupted": interrupted, "wall_seconds": time.perf_counter() - started,
                      "concurrency": concurrency, "rows": len(frame), "trials": trials, "run": run,
                      "sent": tracker.sent, "cached": tracker.cached, "resumed": tracker.resumed, **totals(out)})
    note = f" · tokens {out.attrs['prompt_tokens']:,} in → {out.attrs['completion_tokens']:,} out"
    if prices:
        out.attrs["prices"] = dict(prices)
        out.attrs["estimated_cost"] = cost(out, prices)[0]
        note += f" · estimated cost ${out.attrs['estimated_cost']:.4f}"
    tracker.close(interrupted, note)
    return out


def _check_options(*, run: str | None, retry_failed: bool, overwrite: bool, trials: int,
                   prices: Mapping[str, tuple[float, float]] | None) -> None:
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValidationError("trials must be a whole number >= 1", field="trials")
    if run is None and (retry_failed or overwrite):
        raise ValidationError("retry_failed and overwrite need a run name (run='NAME')", field="run")
    if prices is not None:
        if not isinstance(prices, Mapping):
            raise ValidationError('prices must be a dict like {"openai/gpt-4o-mini": (0.15, 0.6)}', field="prices")
        for name, price in prices.items():
            if (not isinstance(price, (tuple, list)) or len(price) != 2
                    or not all(isinstance(p, (int, float)) and not isinstance(p, bool) and p >= 0 for p in price)):
                raise ValidationError(f"prices[{name!r}] must be (input_per_1m, output_per_1m), two numbers >= 0",
                                      field="prices")


def summarize(results: pd.DataFrame, prices: Mapping[str, tuple[float, float]] | None = None) -> Summary:
    """A batch's statistics as a pandas Series (:class:`~orqmagic.render.table.Summary`) that shows as a table.

    Rows: ``rows``, ``errors``, ``error_rate`` (a ratio), ``latency_p50_ms`` / ``_p90_ms`` / ``_p99_ms``,
    ``ttft_p50_ms``, ``prompt_tokens`` and ``completion_tokens`` (totals), ``completion_tokens_mean``;
    then per metric (latency, TTFT, completion tokens, a ``score`` column if any) ``<metric>_mean``
    with ``<metric>_ci95_low`` / ``_ci95_high`` (trials of a case are averaged first); with trials,
    ``trials`` and ``agreement``; with ``prices`` (default: the run's own ``attrs["prices"]``,
    ``{"provider/model": (input_per_1m, output_per_1m)}``), ``estimated_cost``.

    Values are raw numbers (``summary["latency_p50_ms"]``); units are in ``summary.attrs["units"]``;
    the table shows each row under its key, rounded for people. ``results``: what
    :func:`orqmagic.invoke_many` or :func:`orqmagic.load_run` returned (a ``score`` column is summarised too).
    """
    from ..render.table import Summary
    from .stats import evaluation

    ok = results[results["error"].isna()]
    latency, ttft = ok["latency_ms"].astype(float), ok["ttft_ms"].astype(float)
    errors = int(results["error"].notna().sum())
    summary = Summary(title=f"{results.attrs.get('deployment', 'batch')}: {len(results)} rows").add_statistics({
        "rows": len(results), "errors": errors, "error_rate": errors / len(results) if len(results) else 0.0,
        **{f"latency_p{q}_ms": latency.quantile(q / 100) for q in (50, 90, 99)},
        "ttft_p50_ms": ttft.quantile(0.5), "prompt_tokens": int(ok["prompt_tokens"].sum()),
        "completion_tokens": int(ok["completion_tokens"].sum()),
        "completion_tokens_mean": ok["completion_tokens"].astype(float).mean(),
    }, units={"rows": "count", "errors": "count", "error_rate": "%", "latency_p50_ms": "ms", "latency_p90_ms": "ms",
              "latency_p99_ms": "ms", "ttft_p50_ms": "ms", "prompt_tokens": "tokens", "completion_tokens": "tokens",
              "completion_tokens_mean": "tokens"},
        notes={"ttft_p50_ms": "time to first token", "prompt_tokens": "total", "completion_tokens": "total",
               "completion_tokens_mean": "per row"})
    summary = summary.add_statistics(evaluation(results, prices or results.attrs.get("prices")))
    return summary


def send_scores(results: pd.DataFrame, score_column: str = "score", *, comment_column: str | None = None) -> pd.Series:
    """Send each row's score as feedback for its response id, through the outbox (nothing is lost).

    Rows without an id or a score are skipped. Every score is checked before the
    first one is sent. Returns the count of sent / queued / skipped rows.

    ``results``: what :func:`orqmagic.invoke_many` returned, with your scores added.
    ``score_column`` (default ``"score"``): whole numbers 0–100. ``comment_column`` (default none):
    text sent as ``metadata.comment``.
    """
    import pandas as pd

    from ..clients.orq import metrics_body
    from ..store.outbox import default_outbox

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
