"""Galtea metric definitions: create, list, get.

The creation rules of seed 004 are checked here, before anything is sent, so a
notebook user sees the reason at once instead of a bare 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from ..errors import ValidationError
from ._transport import AsyncClient, Call, SyncClient
from .payload import path_id

CREATABLE_SOURCES = ("SELF_HOSTED", "PARTIAL_PROMPT", "HUMAN_EVALUATION")
ALL_SOURCES = (*CREATABLE_SOURCES, "FULL_PROMPT", "GEVAL", "DEEPEVAL", "DETERMINISTIC")
# The seed's (and API reference's) spelling first; the SDK docs use snake_case.
EVALUATION_PARAMS = (
    "input", "actualOutput", "expectedOutput", "retrievalContext", "context", "toolsUsed", "expectedTools",
)
EVALUATION_PARAMS_SNAKE = (
    "input", "actual_output", "expected_output", "retrieval_context", "context", "tools_used", "expected_tools",
)


def _string_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(
        isinstance(v, str) and v.strip() for v in value
    ):
        raise ValidationError(f"{name} must be a list of non-empty strings", field=name)
    return [v.strip() for v in value]


def check_evaluation_params(params: Any) -> list[str]:
    """Known names only, one spelling at a time, order kept, no repeats."""
    names = _string_list("evaluation_params", params)
    if not names:
        raise ValidationError("evaluation_params is empty: name at least one (e.g. input, actualOutput), or leave it out",
                              field="evaluation_params")
    for spelling in (EVALUATION_PARAMS, EVALUATION_PARAMS_SNAKE):
        if all(n in spelling for n in names):
            break
    else:
        unknown = [n for n in names if n not in EVALUATION_PARAMS and n not in EVALUATION_PARAMS_SNAKE]
        detail = f"unknown {', '.join(map(repr, unknown))}" if unknown else "camelCase and snake_case mixed"
        raise ValidationError(
            f"evaluation_params: {detail}; known: {', '.join(EVALUATION_PARAMS)}",
            field="evaluation_params",
        )
    if len(set(names)) != len(names):
        raise ValidationError("evaluation_params lists a name twice", field="evaluation_params")
    return names


def metric_body(
    name: str,
    *,
    source: str | None = None,
    evaluation_params: Sequence[str] | None = None,
    judge_prompt: str | None = None,
    evaluator_model_name: str | None = None,
    tags: Sequence[str] | None = None,
    description: str | None = None,
    documentation_url: str | None = None,
    eval_params_top: bool | None = None,
    parent_metric_id: str | None = None,
    specification_ids: Sequence[str] | None = None,
    user_group_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The camelCase body of ``POST /metrics`` (wire names per ../shared/api-notes.md)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name must be a non-empty string", field="name")
    if judge_prompt is not None and (not isinstance(judge_prompt, str) or not judge_prompt.strip()):
        raise ValidationError("judge_prompt must be non-empty text", field="judge_prompt")
    if source is None:
        if judge_prompt and not evaluation_params:
            raise ValidationError(
                "a judge prompt without evaluation params would create a FULL_PROMPT metric, which "
                "can no longer be created: use source PARTIAL_PROMPT with evaluation_params",
                field="source",
            )
    else:
        source = str(source).strip().upper()
        if source == "FULL_PROMPT":
            raise ValidationError(
                "FULL_PROMPT metrics can no longer be created: use PARTIAL_PROMPT "
                "(same capabilities, with configurable evaluation params)",
                field="source",
            )
        if source not in CREATABLE_SOURCES:
            raise ValidationError(
                f"source must be one of {', '.join(CREATABLE_SOURCES)}, got {source!r}", field="source"
            )
        if source == "PARTIAL_PROMPT" and not judge_prompt:
            raise ValidationError("a PARTIAL_PROMPT metric needs a judge_prompt", field="judge_prompt")
    body: dict[str, Any] = {"name": name.strip()}
    if source is not None:
        body["source"] = source
    if evaluation_params is not None:
        body["evaluationParams"] = check_evaluation_params(evaluation_params)
    if judge_prompt is not None:
        body["judgePrompt"] = judge_prompt
    for key, arg, value in (
        ("evaluatorModelName", "evaluator_model_name", evaluator_model_name),
        ("description", "description", description),
        ("parentMetricId", "parent_metric_id", parent_metric_id),
    ):
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(f"{arg} must be non-empty text, got {value!r}", field=arg)
            body[key] = value.strip()
    if documentation_url is not None:
        parsed = urlparse(str(documentation_url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValidationError(
                f"documentation_url must be an http(s) URL, got {documentation_url!r}",
                field="documentation_url",
            )
        body["documentationUrl"] = str(documentation_url)
    for key, arg, value in (("tags", "tags", tags), ("specificationIds", "specification_ids", specification_ids),
                            ("userGroupIds", "user_group_ids", user_group_ids)):
        if value is not None:
            body[key] = _string_list(arg, value)
    if eval_params_top is not None:
        if not isinstance(eval_params_top, bool):
            raise ValidationError("eval_params_top must be True or False", field="eval_params_top")
        body["areEvalParamsTop"] = eval_params_top
    return body


def list_call(
    *,
    names: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    include_legacy: bool | None = None,
    offset: int | None = None,
    limit: int | None = None,
    sort: tuple[str, str] | None = None,
) -> Call:
    """``GET /metrics``; array filters repeat as ``key[]=``."""
    params: list[tuple[str, str | int]] = []
    for key, values in (("names[]", names), ("tags[]", tags), ("sources[]", sources)):
        if values is not None:
            params.extend((key, v) for v in _string_list(key[:-2], values))
    if include_legacy is not None:
        params.append(("includeLegacy", "true" if include_legacy else "false"))
    for key, value in (("offset", offset), ("limit", limit)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"{key} must be a whole number >= 0", field=key)
            params.append((key, value))
    if sort is not None:
        params.extend(("sort[]", s) for s in sort)
    return Call("GET", "/metrics", params=params)


def _get_call(metric_id: str) -> Call:
    return Call("GET", f"/metrics/{path_id(metric_id, 'metric_id', what='metric id')}")


class GalteaClient(SyncClient):
    """Galtea metrics API (blocking)."""

    service = "galtea"

    def create_metric(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._call(Call("POST", "/metrics", json=metric_body(name, **fields)))

    def list_metrics(self, **filters: Any) -> list[dict[str, Any]]:
        return self._call(list_call(**filters))

    def get_metric(self, metric_id: str) -> dict[str, Any]:
        return self._call(_get_call(metric_id))


class AsyncGalteaClient(AsyncClient):
    """Galtea metrics API for asyncio."""

    service = "galtea"

    async def create_metric(self, name: str, **fields: Any) -> dict[str, Any]:
        return await self._call(Call("POST", "/metrics", json=metric_body(name, **fields)))

    async def list_metrics(self, **filters: Any) -> list[dict[str, Any]]:
        return await self._call(list_call(**filters))

    async def get_metric(self, metric_id: str) -> dict[str, Any]:
        return await self._call(_get_call(metric_id))
