"""Baseten emulation: demo models and deployments, and metrics that are deterministic in time.

A value depends only on (deployment, metric, series, step start), so overlapping
windows agree, and steps are aligned to multiples of the step, so stitched
windows meet cleanly. A SUMMARY aggregates the whole window, as the API's
document says, from the same steps a SERIES of that window returns (see
:func:`summarize_window`), so a quiet spell at the window's start no longer
empties a week.
"""

from __future__ import annotations

import difflib
import math
import time
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import Faults
from .http import endpoint, error_response
from .state import SandboxState

HISTOGRAM = [{"quantile": "0.5"}, {"quantile": "0.9"}, {"quantile": "0.99"}, {"stat": "avg"}]
BY_STATUS = [{"status": "2xx"}, {"status": "4xx"}, {"status": "5xx"}]
PLAIN = [{}]

# name -> (kind, unit hint, label sets, base level, needs: "" | "gpu" | "llm" | "async")
METRICS: dict[str, tuple[str, str, list[dict[str, str]], float, str]] = {
    "baseten_inference_requests_total": ("COUNTER", "COUNT", BY_STATUS, 40.0, ""),
    "baseten_end_to_end_response_time_seconds": ("HISTOGRAM", "SECONDS", HISTOGRAM, 0.8, ""),
    "baseten_time_to_first_byte_seconds": ("HISTOGRAM", "SECONDS", HISTOGRAM, 0.12, ""),
    "baseten_request_size_bytes": ("HISTOGRAM", "BYTES", HISTOGRAM, 2_400.0, ""),
    "baseten_response_size_bytes": ("HISTOGRAM", "BYTES", HISTOGRAM, 9_000.0, ""),
    "baseten_concurrent_requests": ("GAUGE", "COUNT", PLAIN, 3.0, ""),
    "baseten_replicas_active": ("GAUGE", "COUNT", PLAIN, 2.0, ""),
    "baseten_replicas_starting": ("GAUGE", "COUNT", PLAIN, 0.3, ""),
    "baseten_container_cpu_usage_seconds_total": ("COUNTER", "RATIO", PLAIN, 1.6, ""),
    "baseten_container_cpu_memory_working_set_bytes": ("GAUGE", "BYTES", PLAIN, 3.2e9, ""),
    "baseten_gpu_memory_used": ("GAUGE", "MEBIBYTES", PLAIN, 18_000.0, "gpu"),
    "baseten_gpu_utilization": ("GAUGE", "RATIO", PLAIN, 0.55, "gpu"),
    "baseten_async_queue_size": ("GAUGE", "COUNT", PLAIN, 4.0, "async"),
    "baseten_time_in_async_queue_seconds": ("HISTOGRAM", "SECONDS", HISTOGRAM, 1.5, "async"),
    "baseten_llm_input_tokens_total": ("COUNTER", "COUNT", PLAIN, 9_000.0, "llm"),
    "baseten_llm_output_tokens_total": ("COUNTER", "COUNT", PLAIN, 4_000.0, "llm"),
    "baseten_llm_tokens_per_second_per_request": ("HISTOGRAM", "PER_SECOND", HISTOGRAM, 45.0, "llm"),
    "baseten_llm_kv_cache_hit_rate": ("HISTOGRAM", "RATIO", HISTOGRAM, 0.42, "llm"),
    "baseten_llm_num_requests": ("GAUGE", "COUNT", PLAIN, 5.0, "llm"),
}
DEFAULT_METRICS = ["baseten_replicas_active", "baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds"]

MODELS: list[dict[str, Any]] = [
    {"id": "llama-chat", "name": "llama-3-8b-chat", "created_at": "2026-01-12T10:00:00Z",
     "production_deployment_id": "prod-v3", "development_deployment_id": "dev-v4", "instance_type_name": "1x L4",
     "team_name": "Sandbox team", "features": {"gpu", "llm"}},
    {"id": "embedder", "name": "text-embedder", "created_at": "2026-01-20T14:30:00Z",
     "production_deployment_id": "emb-v1", "development_deployment_id": None, "instance_type_name": "1x4 CPU",
     "team_name": "Sandbox team", "features": {"async"}},
]
_AUTOSCALING = {"min_replica": 0, "max_replica": 4, "autoscaling_window": 60, "scale_down_delay": 900,
                "concurrency_target": 8, "target_utilization_percentage": 70}
DEPLOYMENTS: dict[str, list[dict[str, Any]]] = {
    "llama-chat": [
        {"id": "prod-v3", "name": "v3", "created_at": "2026-02-03T09:15:00Z", "status": "ACTIVE", "is_production": True,
         "is_development": False, "active_replica_count": 2, "environment": "production"},
        {"id": "dev-v4", "name": "v4-dev", "created_at": "2026-02-10T16:40:00Z", "status": "SCALED_TO_ZERO",
         "is_production": False, "is_development": True, "active_replica_count": 0, "environment": None},
    ],
    "embedder": [
        {"id": "emb-v1", "name": "v1", "created_at": "2026-01-20T14:35:00Z", "status": "ACTIVE", "is_production": True,
         "is_development": False, "active_replica_count": 1, "environment": "production"},
    ],
}
MAX_WINDOW_MS = 7 * 24 * 3600 * 1000


def step_seconds(window_ms: int) -> int:
    """Evenly spaced steps, coarser as the window grows (about 60 to 170 steps)."""
    hours = window_ms / 3_600_000
    return 60 if hours <= 2 else 300 if hours <= 12 else 900 if hours <= 48 else 3600


def _noise(*parts: object) -> float:
    return zlib.crc32(":".join(map(str, parts)).encode()) / 0xFFFFFFFF


def series_value(deployment: str, metric: str, series: int, t_ms: int, step: int) -> float | None:
    """One value, a pure function of its coordinates; ``None`` for a step with no data."""
    kind, _unit, _labels, base, _needs = METRICS[metric]
    if kind != "GAUGE" and _noise(deployment, "gap", t_ms // 60_000 // 7) < 0.06:
        return None  # a quiet spell: no traffic, so no latency or counts
    day = 2 * math.pi * (t_ms / 86_400_000)
    level = base * (1 + 0.35 * math.sin(day - 1.2) + 0.15 * (_noise(deployment, metric, t_ms) - 0.5))
    if kind == "HISTOGRAM":
        factor = (1.0, 1.8, 3.1, 1.25)[series]
        value = level * factor
        return round(min(value, 1.0), 4) if metric.endswith("hit_rate") else round(value, 4)
    if metric == "baseten_inference_requests_total":
        share = (0.93, 0.05, 0.02)[series]
        return float(round(level * share * step / 60))
    if kind == "COUNTER":
        return round(level * step / 60, 3)
    if metric == "baseten_gpu_utilization":
        return round(min(level, 1.0), 4)
    return round(level, 3) if base < 10 else round(level)


def summarize_window(kind: str, values: list[float | None]) -> float | None:
    """One series' value sets over a window as one value: ``None`` only when no step had data.

    Counters (totals per step) add up; gauges average. A histogram's quantile series
    average their per-step quantiles (the emulator keeps no raw samples, so this is
    the usual approximation of a window's quantile), as does the ``avg`` series.
    """
    present = [v for v in values if v is not None]
    if not present:
        return None
    total = math.fsum(present)
    return round(total, 3) if kind == "COUNTER" else round(total / len(present), 4)


def _did_you_mean(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f". Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _applies(model: dict[str, Any], needs: str) -> bool:
    return not needs or needs in model["features"]


async def list_models(request: Request, state: SandboxState, faults: Faults) -> Response:
    models = [{k: v for k, v in m.items() if k != "features"} | {"deployments_count": len(DEPLOYMENTS[m["id"]])}
              for m in MODELS]
    return JSONResponse({"models": models})


async def list_deployments(request: Request, state: SandboxState, faults: Faults) -> Response:
    model_id = request.path_params["model_id"]
    if model_id not in DEPLOYMENTS:
        return error_response("baseten", 404, f"Model {model_id} not found{_did_you_mean(model_id, DEPLOYMENTS)}")
    model = next(m for m in MODELS if m["id"] == model_id)
    return JSONResponse({"deployments": [
        {**d, "model_id": model_id, "instance_type_name": model["instance_type_name"],
         "autoscaling_settings": _AUTOSCALING, "request_backpressure_settings": {"policy": None}}
        for d in DEPLOYMENTS[model_id]]})


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    return None if raw is None else int(raw)


async def metrics(request: Request, state: SandboxState, faults: Faults) -> Response:
    model_id, deployment_id = request.path_params["model_id"], request.path_params["deployment_id"]
    model = next((m for m in MODELS if m["id"] == model_id), None)
    if model is None:
        return error_response("baseten", 404, f"Model {model_id} not found{_did_you_mean(model_id, DEPLOYMENTS)}")
    if deployment_id not in {d["id"] for d in DEPLOYMENTS[model_id]}:
        hint = _did_you_mean(deployment_id, [d["id"] for d in DEPLOYMENTS[model_id]])
        return error_response("baseten", 404, f"Deployment {deployment_id} of model {model_id} not found{hint}")
    mode = request.query_params.get("mode", "CURRENT")
    if mode not in ("CURRENT", "SUMMARY", "SERIES"):
        return error_response("baseten", 400, f"mode must be CURRENT, SUMMARY or SERIES, not {mode!r}")
    try:
        start, end = _int_param(request, "start_epoch_millis"), _int_param(request, "end_epoch_millis")
    except ValueError:
        return error_response("baseten", 400, "start_epoch_millis and end_epoch_millis must be integers")
    if mode == "CURRENT" and (start is not None or end is not None):
        return error_response("baseten", 400, "start_epoch_millis and end_epoch_millis must be omitted in CURRENT mode")
    now = int(time.time() * 1000)
    end = now if end is None else end
    start = end - 3_600_000 if start is None else start
    if end <= start:
        return error_response("baseten", 400, "end_epoch_millis must be after start_epoch_millis")
    if end - start > MAX_WINDOW_MS:
        return error_response("baseten", 400, "the window between start and end must not exceed 7 days")
    names = request.query_params.getlist("metrics") or DEFAULT_METRICS
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        return error_response("baseten", 400, f"Unknown metric names: {', '.join(unknown)}")
    names = [n for n in dict.fromkeys(names) if _applies(model, METRICS[n][4])]
    descriptors = [{"name": n, "unit_hint": METRICS[n][1], "kind": METRICS[n][0], "label_sets": METRICS[n][2]} for n in names]

    def value_set(t: int, step: int) -> dict[str, Any]:
        return {"start_epoch_millis": t, "values": [
            [series_value(deployment_id, n, i, t, step) for i in range(len(METRICS[n][2]))] for n in names]}

    def series_sets() -> list[dict[str, Any]]:
        step = step_seconds(end - start)
        step_ms = step * 1000
        return [value_set(t, step) for t in range(start - start % step_ms, end, step_ms)]

    if mode == "SERIES":
        values = series_sets()
        body = {"start_epoch_millis": start, "end_epoch_millis": end, "mode": mode, "step_seconds": step_seconds(end - start)}
    elif mode == "SUMMARY":
        steps = series_sets()
        values = [{"start_epoch_millis": start, "values": [
            [summarize_window(METRICS[n][0], [s["values"][m][i] for s in steps]) for i in range(len(METRICS[n][2]))]
            for m, n in enumerate(names)]}]
        body = {"start_epoch_millis": start, "end_epoch_millis": end, "mode": mode, "step_seconds": None}
    else:
        values = [value_set(now - now % 60_000, 60)]
        body = {"start_epoch_millis": now, "end_epoch_millis": now, "mode": mode, "step_seconds": None}
    return JSONResponse({**body, "metric_descriptors": descriptors, "metric_values": values})


def routes() -> list[Route]:
    return [
        Route("/v1/models", endpoint("baseten", list_models), methods=["GET"]),
        Route("/v1/models/{model_id}/deployments", endpoint("baseten", list_deployments), methods=["GET"]),
        Route("/v1/models/{model_id}/deployments/{deployment_id}/metrics", endpoint("baseten", metrics), methods=["GET"]),
    ]
