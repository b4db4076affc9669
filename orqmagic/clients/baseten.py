"""Baseten management API: models, deployments, deployment metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..errors import OrqMagicError, ValidationError
from ._transport import AsyncClient, Call, SyncClient
from .payload import path_id

MODES = ("CURRENT", "SUMMARY", "SERIES")
# Baseten's public "supported metrics" list (../shared/api-notes.md).
KNOWN_METRICS = (
    "baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds",
    "baseten_time_to_first_byte_seconds", "baseten_request_size_bytes", "baseten_response_size_bytes",
    "baseten_concurrent_requests", "baseten_replicas_active", "baseten_replicas_starting",
    "baseten_container_cpu_usage_seconds_total", "baseten_container_cpu_memory_working_set_bytes",
    "baseten_gpu_memory_used", "baseten_gpu_utilization", "baseten_async_queue_size",
    "baseten_time_in_async_queue_seconds", "baseten_llm_input_tokens_total", "baseten_llm_output_tokens_total",
    "baseten_llm_tokens_per_second_per_request", "baseten_llm_kv_cache_hit_rate", "baseten_llm_num_requests",
)
DEFAULT_METRICS = ("baseten_replicas_active", "baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds")
MAX_WINDOW_MS = 7 * 24 * 3600 * 1000


def epoch_millis(value: Any, *, field: str) -> int:
    """Epoch milliseconds from an int (already ms) or a datetime (naive means UTC)."""
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a datetime or epoch milliseconds", field=field)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp() * 1000)
    raise ValidationError(
        f"{field} must be a datetime or epoch milliseconds, got {type(value).__name__}", field=field
    )


def metrics_call(
    model_id: str,
    deployment_id: str,
    metrics: Sequence[str] | None = None,
    *,
    mode: str | None = None,
    start: Any = None,
    end: Any = None,
) -> Call:
    """``GET .../metrics`` with the seed's rules checked first; only set parameters are sent."""
    model_id = _check_id("model_id", model_id)
    deployment_id = _check_id("deployment_id", deployment_id)
    params: list[tuple[str, str | int]] = []
    if mode is not None:
        mode = str(mode).upper()
        if mode not in MODES:
            raise ValidationError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", field="mode")
        params.append(("mode", mode))
    start_ms = None if start is None else epoch_millis(start, field="start")
    end_ms = None if end is None else epoch_millis(end, field="end")
    if (mode or "CURRENT") == "CURRENT" and (start_ms is not None or end_ms is not None):
        raise ValidationError("CURRENT mode is a snapshot at now: leave start and end out", field="start")
    if start_ms is not None and end_ms is not None:
        if end_ms <= start_ms:
            raise ValidationError("end must be after start", field="end")
        if end_ms - start_ms > MAX_WINDOW_MS:
            raise ValidationError(
                "the window between start and end must not exceed 7 days "
                "(orqmagic.fetch_metrics splits longer windows for you)",
                field="start",
            )
    if start_ms is not None:
        params.append(("start_epoch_millis", start_ms))
    if end_ms is not None:
        params.append(("end_epoch_millis", end_ms))
    if metrics is not None:
        if isinstance(metrics, str):
            metrics = [metrics]
        names = list(metrics)
        if not names or not all(isinstance(m, str) and m.strip() for m in names):
            raise ValidationError("metrics must be a non-empty list of metric names", field="metrics")
        params.extend(("metrics", m.strip()) for m in names)
    return Call("GET", f"/v1/models/{model_id}/deployments/{deployment_id}/metrics", params=params)


def _check_id(name: str, value: Any) -> str:
    return path_id(value, name)


def _listed(payload: Any, name: str) -> list[dict[str, Any]]:
    """``payload[name]`` as a list of objects, or one typed line saying what Baseten sent instead."""
    items = payload.get(name) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        raise OrqMagicError(f"Baseten sent its {name} in an unexpected shape (no list of objects with an id under {name!r})")
    return items


class BasetenClient(SyncClient):
    """Baseten management API (blocking)."""

    service = "baseten"

    def deployment_metrics(
        self, model_id: str, deployment_id: str, metrics: Sequence[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The parsed metrics response; see :func:`metrics_call` for ``mode``/``start``/``end``."""
        return self._call(metrics_call(model_id, deployment_id, metrics, **kwargs))

    def list_models(self) -> list[dict[str, Any]]:
        return _listed(self._call(Call("GET", "/v1/models")), "models")

    def list_deployments(self, model_id: str) -> list[dict[str, Any]]:
        return _listed(self._call(Call("GET", f"/v1/models/{_check_id('model_id', model_id)}/deployments")), "deployments")


class AsyncBasetenClient(AsyncClient):
    """Baseten management API for asyncio."""

    service = "baseten"

    async def deployment_metrics(
        self, model_id: str, deployment_id: str, metrics: Sequence[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return await self._call(metrics_call(model_id, deployment_id, metrics, **kwargs))

    async def list_models(self) -> list[dict[str, Any]]:
        return _listed(await self._call(Call("GET", "/v1/models")), "models")

    async def list_deployments(self, model_id: str) -> list[dict[str, Any]]:
        return _listed(await self._call(Call("GET", f"/v1/models/{_check_id('model_id', model_id)}/deployments")),
                       "deployments")
