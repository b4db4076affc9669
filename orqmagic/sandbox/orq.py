"""orq.ai emulation: demo deployments whose answers are deterministic and derived from the prompt."""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import json
import os
import time
import zlib
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .answers import TOKEN, Answer, compose
from .faults import Faults
from .http import endpoint, error_response, read_json
from .schema import Validator, describe
from .state import SandboxState

DEPLOYMENTS: dict[str, dict[str, str]] = {
    "support-bot": {"provider": "openai", "model": "gpt-4o-mini", "description": "Customer-support assistant"},
    "summarizer": {"provider": "anthropic", "model": "claude-3-5-haiku", "description": "Summarises inputs.text"},
    "code-helper": {"provider": "openai", "model": "gpt-4.1", "description": "Answers with code"},
    "reasoner": {"provider": "deepseek", "model": "deepseek-reasoner", "description": "Shows its reasoning"},
    "weather-agent": {"provider": "openai", "model": "gpt-4o", "description": "Calls a get_weather tool"},
    "rag-bot": {"provider": "cohere", "model": "command-r", "description": "Cites retrieved documents"},
}
_CREATED = "2026-01-15T09:00:00Z"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A ULID (what orq uses for response ids): 48 bits of ms time, 80 random bits."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


@cache
def _validator(name: str) -> Validator:
    schema = json.loads(resources.files(__package__).joinpath(f"schemas/{name}.json").read_text())
    return Validator(schema)


def schema_error(name: str, body: Any) -> str | None:
    """The clearest schema violation of ``body``, as one line, or ``None``."""
    return describe(_validator(name).error(body))


# -- wire shapes ---------------------------------------------------------------------


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _base(response_id: str, key: str) -> dict[str, Any]:
    deployment = DEPLOYMENTS[key]
    return {"id": response_id, "created": _now_iso(), "object": "chat", "model": deployment["model"],
            "provider": deployment["provider"]}


def new_telemetry() -> dict[str, str]:
    """``telemetry`` as orq sends it: the W3C trace id (32 hex) and span id (16 hex) of the call."""
    return {"trace_id": os.urandom(16).hex(), "span_id": os.urandom(8).hex()}


def _pieces(answer: Answer) -> list[tuple[str, Any]]:
    """The streamed deltas, in order: reasoning, then text, then tool-call fragments."""
    pieces: list[tuple[str, Any]] = [("reasoning", t) for t in TOKEN.findall(answer.reasoning)]
    pieces += [("content", t) for t in TOKEN.findall(answer.text)]
    for index, call in enumerate(answer.tool_calls):
        args = call["function"]["arguments"]
        cut = max(1, len(args) // 2)
        pieces.append(("tool", {"index": index, "id": call["id"], "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": args[:cut]}}))
        pieces.append(("tool", {"index": index, "type": "function", "function": {"name": "", "arguments": args[cut:]}}))
    return pieces


async def _answer_request(request: Request, state: SandboxState) -> tuple[str, Answer, str, dict[str, str]] | Response:
    """Validate the body, compose the answer, and register its response id (for later metrics)."""
    body, bad = await _deployment_request(request)
    if bad:
        return bad
    key = body["key"]
    response_id = new_ulid()
    telemetry = new_telemetry()
    state.transactions[response_id] = {"key": key, "created": time.time(), "trace_id": telemetry["trace_id"]}
    return key, compose(key, body), response_id, telemetry


async def stream(request: Request, state: SandboxState, faults: Faults) -> Response:
    started = await _answer_request(request, state)
    if isinstance(started, Response):
        return started
    key, answer, response_id, telemetry = started
    base = _base(response_id, key)
    rate = faults.token_rate if faults.token_rate is not None else state.token_rate
    # Every content chunk differs only in its delta: build the JSON around it once.
    head = json.dumps({**base, "is_final": False, "telemetry": telemetry})[:-1]
    content_prefix = f'data: {head}, "choices": [{{"index": 0, "message": {{"type": "content", "role": "assistant", "content": '
    content_suffix = '}, "finish_reason": null}]}\n\n'
    record = {"id": response_id, "key": key, "chunks_sent": 0, "completed": False, "disconnected": False,
              "first_chunk_at": None}
    state.streams.append(record)

    def chunk_for(kind: str, value: Any) -> str:
        if kind == "content":
            return content_prefix + json.dumps(value) + content_suffix
        message = ({"type": "content", "role": "assistant", "content": "", "reasoning": value} if kind == "reasoning"
                   else {"type": "tool_calls", "role": "assistant", "tool_calls": [value]})
        return "data: " + json.dumps({**base, "is_final": False, "telemetry": telemetry,
                                      "choices": [{"index": 0, "message": message, "finish_reason": None}]}) + "\n\n"

    async def events() -> Any:
        started = time.monotonic()
        dropped = False
        try:
            if faults.first_byte_ms:
                await asyncio.sleep(faults.first_byte_ms / 1000)
            yield ": orqmagic sandbox stream\n\nevent: ping\n\n"
            for n, (kind, value) in enumerate(_pieces(answer), 1):
                if faults.drop_after is not None and n > faults.drop_after:
                    dropped = True
                    raise ConnectionAbortedError("sandbox fault: stream dropped")
                yield "data: {malformed\n\n" if n == faults.malformed_at else chunk_for(kind, value)
                if n == 1:
                    record["first_chunk_at"] = time.time()
                record["chunks_sent"] = n
                if rate:
                    delay = started + n / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif n % 256 == 0:
                    await asyncio.sleep(0)
            yield "data: " + json.dumps(_final_chunk(base, telemetry, answer, faults)) + "\n\ndata: [DONE]\n\n"
            record["completed"] = True
        finally:
            if not record["completed"] and not dropped:
                record["disconnected"] = True

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _final_chunk(base: dict[str, Any], telemetry: dict[str, str], answer: Answer, faults: Faults) -> dict[str, Any]:
    completion = answer.completion_tokens
    message: dict[str, Any] = {"type": "content", "role": "assistant", "content": answer.text if faults.final_repeats else ""}
    chunk = {**base, "is_final": True, "telemetry": telemetry, "finalized": _now_iso(),
             "choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason}],
             "usage": {"prompt_tokens": answer.prompt_tokens, "completion_tokens": completion,
                       "total_tokens": answer.prompt_tokens + completion}}
    if answer.retrievals is not None:
        chunk["retrievals"] = answer.retrievals
    return chunk


async def invoke(request: Request, state: SandboxState, faults: Faults) -> Response:
    started = await _answer_request(request, state)
    if isinstance(started, Response):
        return started
    key, answer, response_id, telemetry = started
    if answer.tool_calls:
        message: dict[str, Any] = {"type": "tool_calls", "role": "assistant", "content": None,
                                   "tool_calls": [{**c, "index": i} for i, c in enumerate(answer.tool_calls)]}
    else:
        message = {"type": "content", "role": "assistant", "content": answer.text}
        if answer.reasoning:
            message["reasoning"] = answer.reasoning
    completion = answer.completion_tokens
    result = {**_base(response_id, key), "is_final": True, "telemetry": telemetry, "finalized": _now_iso(),
              "choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason}],
              "provider_response": None,
              "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": completion,
                        "total_tokens": answer.prompt_tokens + completion}}
    if answer.retrievals is not None:
        result["retrievals"] = answer.retrievals
    return JSONResponse(result)


async def _deployment_request(request: Request) -> tuple[dict[str, Any], Response | None]:
    body, bad = await read_json(request, "orq")
    if bad:
        return body, bad
    problem = schema_error("orq_deployment_request", body)
    if problem:
        return body, error_response("orq", 400, f"Invalid request: {problem}")
    if body["key"] not in DEPLOYMENTS:
        close = difflib.get_close_matches(body["key"], DEPLOYMENTS, n=3, cutoff=0.6)
        hint = f". Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return body, error_response("orq", 404, f"Deployment with key '{body['key']}' not found{hint}")
    return body, None


async def add_metrics(request: Request, state: SandboxState, faults: Faults) -> Response:
    transaction_id = request.path_params["id"]
    body, bad = await read_json(request, "orq")
    if bad:
        return bad
    problem = schema_error("orq_metrics_request", body)
    if problem:
        return error_response("orq", 400, f"Invalid request: {problem}")
    if transaction_id not in state.transactions:
        return error_response("orq", 404, f"No deployment response with id '{transaction_id}'")
    state.record("orq.metrics", transaction_id=transaction_id, body=body)
    return JSONResponse({"success": True})


async def list_deployments(request: Request, state: SandboxState, faults: Faults) -> Response:
    try:
        limit = int(request.query_params.get("limit", 10))
    except ValueError:
        return error_response("orq", 400, "limit must be a number")
    if not 1 <= limit <= 50:
        return error_response("orq", 400, "limit must be from 1 to 50")
    items = [_deployment_item(k, d) for k, d in DEPLOYMENTS.items()]
    after = request.query_params.get("starting_after")
    if after:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    return JSONResponse({"object": "list", "data": items[:limit], "has_more": len(items) > limit})


_WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                   "required": ["city"]}}}


def _deployment_item(key: str, deployment: dict[str, str]) -> dict[str, Any]:
    """One deployment as the list endpoint shows it, with the prompt config the official SDK requires."""
    return {
        "id": f"dep_{zlib.crc32(key.encode()):08x}", "key": key, "description": deployment["description"],
        "created": _CREATED, "updated": _CREATED, "version": "v1",
        "model": {"provider": deployment["provider"], "model": deployment["model"]},
        "prompt_config": {
            "tools": [_WEATHER_TOOL] if key == "weather-agent" else [],
            "model": deployment["model"], "model_type": "chat", "provider": deployment["provider"],
            "model_parameters": {"temperature": 0.2, "maxTokens": 1024},
            "messages": [{"role": "system", "content": f"{deployment['description']} (orqmagic sandbox)."}],
        },
    }


def routes() -> list[Route]:
    return [
        Route("/v2/deployments", endpoint("orq", list_deployments), methods=["GET"]),
        Route("/v2/deployments/invoke", endpoint("orq", invoke), methods=["POST"]),
        Route("/v2/deployments/stream", endpoint("orq", stream), methods=["POST"]),
        Route("/v2/deployments/{id}/metrics", endpoint("orq", add_metrics), methods=["POST"]),
    ]
