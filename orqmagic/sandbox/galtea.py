"""Galtea emulation: metric definitions with the documented creation rules and revision families."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import Faults
from .http import endpoint, error_response, read_json
from .state import SandboxState

CREATABLE = {"SELF_HOSTED", "PARTIAL_PROMPT", "HUMAN_EVALUATION"}
ALL_SOURCES = CREATABLE | {"FULL_PROMPT", "GEVAL", "DEEPEVAL", "DETERMINISTIC"}
_STRING_FIELDS = ("name", "judgePrompt", "evaluatorModelName", "description", "documentationUrl", "parentMetricId")
_LIST_FIELDS = ("evaluationParams", "tags", "specificationIds", "userGroupIds")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(body: Any, state: SandboxState) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        return "name is required"
    for key in _STRING_FIELDS:
        if key in body and body[key] is not None and not isinstance(body[key], str):
            return f"{key} must be a string"
    for key in _LIST_FIELDS:
        if key in body and body[key] is not None and (
            not isinstance(body[key], list) or not all(isinstance(v, str) for v in body[key])
        ):
            return f"{key} must be an array of strings"
    source = body.get("source")
    if source is None and body.get("judgePrompt") and not body.get("evaluationParams"):
        source = "FULL_PROMPT"
    if source == "FULL_PROMPT":
        return "FULL_PROMPT is deprecated for creation; use PARTIAL_PROMPT instead"
    if source is not None and source not in CREATABLE:
        return f"source must be one of {', '.join(sorted(CREATABLE))}"
    if source == "PARTIAL_PROMPT" and not body.get("judgePrompt"):
        return "judgePrompt is required for PARTIAL_PROMPT metrics"
    if "areEvalParamsTop" in body and not isinstance(body["areEvalParamsTop"], bool):
        return "areEvalParamsTop must be a boolean"
    return None


async def create(request: Request, state: SandboxState, faults: Faults) -> Response:
    body, bad = await read_json(request, "galtea")
    if bad:
        return bad
    problem = _problem(body, state)
    if problem:
        return error_response("galtea", 400, problem)
    parent_id = body.get("parentMetricId")
    with state.lock:
        parent = next((m for m in state.galtea_metrics if m["id"] == parent_id), None) if parent_id else None
        if parent_id and parent is None:
            return error_response("galtea", 404, f"parent metric {parent_id} not found")
        metric_id = f"metric_{secrets.token_hex(6)}"
        now = _now()
        metric = {
            "id": metric_id,
            "metricGroupId": parent["metricGroupId"] if parent else metric_id,
            "parentMetricId": parent_id,
            "organizationId": "org_sandbox",
            "userId": "user_sandbox",
            "name": body["name"].strip(),
            "evaluationParams": body.get("evaluationParams") or [],
            "source": body.get("source"),
            "judgePrompt": body.get("judgePrompt"),
            "tags": body.get("tags") or [],
            "description": body.get("description"),
            "documentationUrl": body.get("documentationUrl"),
            "evaluatorModelName": body.get("evaluatorModelName"),
            "areEvalParamsTop": body.get("areEvalParamsTop", False),
            "isBeingOptimized": False,
            "specificationIds": body.get("specificationIds") or [],
            "userGroupIds": body.get("userGroupIds") or [],
            "createdAt": now,
            "legacyAt": None,
        }
        if parent is not None and parent["legacyAt"] is None:
            parent["legacyAt"] = now
        state.galtea_metrics.append(metric)
    state.record("galtea.metric", metric_id=metric_id, body=body)
    return JSONResponse(metric, status_code=201)


async def list_metrics(request: Request, state: SandboxState, faults: Faults) -> Response:
    query = request.query_params
    with state.lock:
        items = list(state.galtea_metrics)
    if query.get("includeLegacy", "false").lower() != "true":
        items = [m for m in items if m["legacyAt"] is None]
    if names := query.getlist("names[]"):
        items = [m for m in items if m["name"] in names]
    if tags := query.getlist("tags[]"):
        items = [m for m in items if set(tags) & set(m["tags"])]
    if sources := query.getlist("sources[]"):
        items = [m for m in items if m["source"] in sources]
    sort = query.getlist("sort[]")
    if sort:
        field = sort[0]
        if field not in ("createdAt", "name"):
            return error_response("galtea", 400, f"cannot sort by {field}")
        items.sort(key=lambda m: m[field] or "", reverse=len(sort) > 1 and sort[1] == "desc")
    try:
        offset = int(query.get("offset", 0))
        limit = int(query.get("limit", 100))
    except ValueError:
        return error_response("galtea", 400, "offset and limit must be integers")
    return JSONResponse(items[offset:offset + limit])


async def get_metric(request: Request, state: SandboxState, faults: Faults) -> Response:
    metric_id = request.path_params["id"]
    with state.lock:
        metric = next((m for m in state.galtea_metrics if m["id"] == metric_id), None)
    if metric is None:
        return error_response("galtea", 404, f"metric {metric_id} not found")
    return JSONResponse(metric)


async def minimum_sdk_version(request: Request, state: SandboxState, faults: Faults) -> Response:
    """What the galtea SDK asks when it starts; the sandbox accepts every SDK version (and names no latest)."""
    return JSONResponse({"minimumSdkVersionSupported": "0.0.0"})


def routes() -> list[Route]:
    return [
        Route("/minimum-sdk-version", endpoint("galtea", minimum_sdk_version), methods=["GET"]),
        Route("/metrics", endpoint("galtea", create), methods=["POST"]),
        Route("/metrics", endpoint("galtea", list_metrics), methods=["GET"]),
        Route("/metrics/{id}", endpoint("galtea", get_metric), methods=["GET"]),
    ]
