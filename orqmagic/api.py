"""The plain-Python surface: what the magics and widgets call, usable without Jupyter."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .clients.accumulator import StreamAccumulator
from .clients.orq import build_messages, deployment_body, deployment_hint
from .clients.retry import retry_listener
from .clients.shared import _clients, client  # noqa: F401  # re-exported: the factory lives below results and the outbox
from .errors import NotFoundError, OrqMagicError, StreamInterrupted, ValidationError
from .render.live import LiveView, live_view
from .result import InvokeResult
from .store.outbox import add_metrics

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from .clients import GalteaClient, OrqClient
    from .store.cache import CachedCall

_last: dict[str, InvokeResult | None] = {"result": None}


def last_result() -> InvokeResult | None:
    """The most recent answer, kept even when its call ended in an interrupt or an error."""
    return _last["result"]


def invoke(
    key: str,
    prompt: str | None = None,
    *,
    system: str | None = None,
    messages: list[dict] | None = None,
    stream: bool = True,
    display: bool | None = None,
    fmt: str = "markdown",
    throttle: float = 0.1,
    footer: bool = True,
    timeout: float | None = None,
    orq: OrqClient | None = None,
    cache: bool = False,
    cache_max_mb: float | None = None,
    cache_max_age_days: float | None = None,
    **fields: Any,
) -> InvokeResult:
    """Call deployment ``key`` and return its answer, streaming it to the screen as it arrives.

    ``fields`` are the request fields of the orq API (inputs, context, metadata,
    identity, thread, documents, file_ids, extra_params, prefix_messages,
    knowledge_filter, invoke_options, mock_response, include_retrievals).
    Bad input raises :class:`~orqmagic.ValidationError` before anything is sent.
    A broken stream raises :class:`~orqmagic.StreamInterrupted` whose ``partial``
    holds the text that arrived; Ctrl-C stops the stream, keeps the partial
    answer in :func:`last_result`, and re-raises ``KeyboardInterrupt``.
    With ``cache=True`` an identical earlier request's complete answer is replayed
    from the local store (as a stream, ``result.cached`` set) and nothing is sent;
    see :mod:`orqmagic.store.cache` for the key and the limits.

    ``prompt``: the user message; ``system``: a system message before it; ``messages``: a whole
    message list instead (``[{"role": "user", "content": ...}, ...]``). ``stream`` (default True):
    a live stream, else one ``/invoke`` call. ``display`` (default: in a notebook or terminal, not
    in a script): show the answer as it arrives. ``fmt``: ``markdown`` (default), ``text`` or
    ``json``. ``throttle`` (0.1 s): least time between redraws. ``footer`` (True): the footer line.
    ``timeout``: seconds the stream may stay silent (default 300; at most a day). ``orq``: a client
    (default: the configured one). ``cache_max_mb`` / ``cache_max_age_days``: the response cache's
    limits (default 256 MB and 30 days, or ``$ORQMAGIC_CACHE_MAX_MB`` / ``_AGE_DAYS``).
    """
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 86_400):
        raise ValidationError(f"timeout must be a number of seconds above 0 (at most a day), got {timeout!r}", field="timeout")
    if fmt not in ("markdown", "text", "json"):
        raise ValidationError(f"format must be markdown, text or json, got {fmt!r}", field="format")
    fields["messages"] = build_messages(prompt, system=system, messages=messages)
    if fields["messages"] is None:
        del fields["messages"]
    if not fields.get("messages") and not fields.get("inputs") and "mock_response" not in fields:
        raise ValidationError("nothing to send: give a prompt, messages or inputs", field="prompt")
    body = deployment_body(key, stream=stream, **fields)  # validate now: nothing is sent on bad input
    orq = orq or client("orq", stream_timeout=timeout)
    cached = None
    if cache:
        from .store.cache import response_cache

        cached = response_cache(cache_max_mb, cache_max_age_days).call(body, base_url=orq.config.base_url)
    view = live_view(key, display=display, fmt=fmt, throttle=throttle, footer=footer)
    runner = _run_stream if stream else _run_once
    token = retry_listener.set(getattr(view, "status", None))  # "rate limited, retrying in 20 s" shows in the view
    try:
        result = runner(orq, key, fields, view, cached)
    except BaseException as exc:
        abandon = getattr(view, "abandon", None)
        if abandon is not None:
            abandon()  # failed before any text: no placeholder left waiting
        if isinstance(exc, NotFoundError):
            raise _suggest_deployment(exc, orq, key) from None
        raise
    finally:
        retry_listener.reset(token)
    _last["result"] = result
    if result.interrupted:
        raise KeyboardInterrupt
    if result.error is not None and not result.complete:
        raise StreamInterrupted(result.error, partial=result)
    return result


def _suggest_deployment(exc: NotFoundError, orq: OrqClient, key: str) -> NotFoundError:
    """A 404 with the closest deployment keys, when the server did not suggest any itself."""
    if "did you mean" in exc.server_message.lower():
        return exc  # the server suggested already: no need to list the deployments
    try:
        keys = [d["key"] for d in orq.list_deployments() if isinstance(d.get("key"), str)]
    except (OrqMagicError, KeyError, AttributeError):
        return exc
    hint = deployment_hint(key, exc.server_message, keys)
    if not hint:
        return exc
    return NotFoundError(f"{exc.server_message.rstrip('.')}.{hint}", service=exc.service,
                         status_code=exc.status_code, body=exc.body)


def _replay(chunks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from chunks


def _run_stream(orq: OrqClient, key: str, fields: dict[str, Any], view: LiveView,
                cached: CachedCall | None = None) -> InvokeResult:
    acc = StreamAccumulator()
    started = time.perf_counter()
    first_at: float | None = None
    error: str | None = None
    failure: StreamInterrupted | None = None
    interrupted = False
    complete = False
    hit = cached.hit if cached is not None else None
    chunks = _replay(hit.chunks) if hit is not None else orq.stream(key, **fields)
    kept: list[dict[str, Any]] | None = [] if cached is not None and hit is None else None
    update = view.update
    try:
        for chunk in chunks:
            if first_at is None:
                first_at = time.perf_counter()
            if kept is not None:
                kept.append(chunk)
            if acc.add(chunk):
                update(acc)
        complete = True
    except StreamInterrupted as exc:
        if acc.chunks == 0:
            raise  # nothing arrived: a plain error, no partial answer to show
        error, failure = str(exc), exc
    except KeyboardInterrupt:
        interrupted = True
    finally:
        chunks.close()  # closes the HTTP response at once, also on Ctrl-C
    result = InvokeResult.from_accumulator(
        acc, deployment=key, complete=complete, interrupted=interrupted, error=error,
        latency_ms=(time.perf_counter() - started) * 1000,
        ttft_ms=None if first_at is None else (first_at - started) * 1000,
        sandbox=orq.config.sandbox,
    )
    _settle_cache(result, cached, kept, acc)
    _last["result"] = result
    view.finish(result)
    if failure is not None:  # re-raise the specific error (MalformedChunkError, StreamTimeout, ...) with the answer so far
        failure.partial = result
        raise failure
    return result


def _settle_cache(result: InvokeResult, cached: CachedCall | None, kept: list[dict[str, Any]] | None,
                  acc: StreamAccumulator) -> None:
    """A replayed answer takes its original timings; a complete new one is stored (never a partial one)."""
    if cached is None:
        return
    if cached.hit is not None:
        result.cached, result.cached_at = True, cached.hit.created_at
        result.latency_ms, result.ttft_ms = cached.hit.latency_ms, cached.hit.ttft_ms
    elif kept is not None and result.complete and result.error is None and not result.interrupted and acc.final:
        cached.save(kept, latency_ms=result.latency_ms, ttft_ms=result.ttft_ms)


def _run_once(orq: OrqClient, key: str, fields: dict[str, Any], view: LiveView,
              cached: CachedCall | None = None) -> InvokeResult:
    started = time.perf_counter()
    hit = cached.hit if cached is not None else None
    response = hit.chunks[0] if hit is not None else orq.invoke(key, **fields)
    acc = StreamAccumulator()
    acc.add(response)
    result = InvokeResult.from_accumulator(
        acc, deployment=key, complete=True, streamed=False,
        latency_ms=(time.perf_counter() - started) * 1000, ttft_ms=None, sandbox=orq.config.sandbox,
    )
    acc.final = True  # one invoke response is the whole answer
    _settle_cache(result, cached, [response] if hit is None else None, acc)
    view.finish(result)
    return result


# -- feedback and metric definitions --------------------------------------------------


def create_metric(name: str, *, source: str, evaluation_params: list[str] | None = None, galtea: GalteaClient | None = None,
                  **fields: Any) -> dict[str, Any]:
    """Define an evaluation metric on Galtea (``POST /metrics``) and return the created metric (a dict).

    Every rule is checked before anything is sent (:class:`~orqmagic.ValidationError` otherwise).

    ``name``: non-empty text. ``source`` (required): one of ``SELF_HOSTED`` (you compute the score),
    ``PARTIAL_PROMPT`` (an LLM judge; needs ``judge_prompt`` and ``evaluation_params``) or
    ``HUMAN_EVALUATION``; ``FULL_PROMPT`` can no longer be created (use ``PARTIAL_PROMPT``).
    ``evaluation_params``: what the judge sees, from ``input``, ``actualOutput``, ``expectedOutput``,
    ``context``, ``retrievalContext``, ... (each once; default: none). Optional ``fields``, all default
    unset: ``judge_prompt``, ``evaluator_model_name``, ``description``, ``documentation_url`` (http(s)),
    ``tags``, ``parent_metric_id`` (a new revision of that metric's family), ``eval_params_top`` (bool),
    ``specification_ids``, ``user_group_ids``. ``galtea``: a client (default: the configured one).
    """
    if not isinstance(source, str) or not source.strip():
        if source is None:  # the definition's own advice first (a judge prompt alone would mean FULL_PROMPT)
            from .clients.galtea import metric_body

            metric_body(name, source=None, evaluation_params=evaluation_params, **fields)
        raise ValidationError(f"source is required (SELF_HOSTED, PARTIAL_PROMPT or HUMAN_EVALUATION), got {source!r}",
                              field="source")
    return (galtea or client("galtea")).create_metric(name, source=source, evaluation_params=evaluation_params, **fields)


METRIC_COLUMNS = ["id", "name", "source", "evaluation_params", "metric_group_id", "parent_metric_id", "tags",
                  "created_at", "legacy_at"]


def list_metrics(*, names: list[str] | None = None, tags: list[str] | None = None, sources: list[str] | None = None,
                 include_legacy: bool | None = None, offset: int | None = None, limit: int | None = None,
                 sort: tuple[str, str] | None = None, galtea: GalteaClient | None = None) -> pd.DataFrame:
    """Galtea metric definitions (``GET /metrics``) as a DataFrame, one row per metric, newest first.

    Filters (each left out of the request when ``None``, the default): ``names``, ``tags``, ``sources``
    (lists; a metric matches any listed value), ``include_legacy`` (older revisions too; the server's
    default leaves them out), ``offset`` and ``limit`` (whole numbers >= 0, for paging) and ``sort``
    (``("createdAt", "desc")``-style: a field and ``asc``/``desc``). ``galtea``: a client (default: the
    configured one).

    Columns follow the package's frame convention: snake_case (``evaluation_params``,
    ``metric_group_id``, ``created_at``, ...), times as UTC datetimes, a list of names stays a list.
    """
    filters = {k: v for k, v in {"names": names, "tags": tags, "sources": sources, "include_legacy": include_legacy,
                                 "offset": offset, "limit": limit, "sort": sort}.items() if v is not None}
    from .frames.convention import records_frame

    return records_frame((galtea or client("galtea")).list_metrics(**filters), first=METRIC_COLUMNS)


def _deployment_record(row: dict[str, Any]) -> dict[str, Any]:
    """One deployment flattened: ``model`` as ``provider/model``, the prompt settings people compare as columns."""
    from .frames.convention import model_name

    row = dict(row)
    model = row.pop("model", None)
    config = row.pop("prompt_config", None)
    config = config if isinstance(config, dict) else {}
    if isinstance(model, dict):
        row["model"] = model_name(model.get("provider"), model.get("model"))
    elif model is not None or config:
        row["model"] = model_name(config.get("provider"), model or config.get("model"))
    if config:
        parameters = config.get("model_parameters") if isinstance(config.get("model_parameters"), dict) else {}
        messages = config.get("messages") if isinstance(config.get("messages"), list) else []
        row.update({"model_type": config.get("model_type"), "temperature": parameters.get("temperature"),
                    "max_tokens": parameters.get("maxTokens", parameters.get("max_tokens")),
                    "tools": len(config.get("tools") or []),
                    "system": next((m.get("content") for m in messages
                                    if isinstance(m, dict) and m.get("role") == "system"), None)})
    return row


def list_deployments(*, orq: OrqClient | None = None) -> pd.DataFrame:
    """orq deployments (``GET /v2/deployments``, every page) as a DataFrame, one row per deployment.

    Columns: ``key``, ``description``, ``id``, ``created``, ``updated`` (UTC datetimes), ``version``,
    ``model`` (``provider/model``, as ``prices=`` is keyed), and from the prompt settings ``model_type``,
    ``temperature``, ``max_tokens``, ``tools`` (how many) and ``system`` (the system message); further
    fields the service adds become snake_case columns. ``orq``: a client (default: the configured one).
    """
    from .frames.convention import records_frame

    rows = [_deployment_record(r) for r in (orq or client("orq")).list_deployments()]
    return records_frame(rows, first=["key", "description", "id", "created", "updated"])


__all__ = ["add_metrics", "client", "create_metric", "invoke", "last_result", "list_deployments", "list_metrics"]
