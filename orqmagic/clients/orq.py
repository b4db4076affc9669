"""orq.ai deployments: invoke, stream, add metrics, list deployments."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from ..errors import OrqMagicError, ValidationError
from ._transport import AsyncClient, Call, SyncClient
from .payload import json_ready, path_id

MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_MAPPING_FIELDS = ("inputs", "context", "metadata", "extra_params", "knowledge_filter")
_LIST_FIELDS = ("prefix_messages", "messages", "file_ids", "documents")


def _check_messages(name: str, messages: Any) -> list[dict]:
    if not isinstance(messages, list):
        raise ValidationError(f"{name} must be a list of messages", field=name)
    for i, message in enumerate(messages):
        where = f"{name}[{i}]"
        if not isinstance(message, Mapping):
            raise ValidationError(f"{where} must be a dict with role and content", field=name)
        role = message.get("role")
        if role not in MESSAGE_ROLES:
            raise ValidationError(
                f"{where}.role must be one of {', '.join(sorted(MESSAGE_ROLES))}, got {role!r}",
                field=name,
            )
        content = message.get("content")
        if role != "assistant" and not isinstance(content, (str, list)):
            raise ValidationError(f"{where}.content must be a string or a list of parts", field=name)
    return [dict(m) for m in messages]


def build_messages(prompt: str | None, *, system: str | None = None, messages: list[dict] | None = None) -> list[dict] | None:
    """``messages`` for a call: an explicit list, or the prompt as one user turn; ``system`` goes first."""
    if messages is not None and prompt:
        raise ValidationError("give either a prompt or messages, not both", field="messages")
    out = list(messages) if messages is not None else ([{"role": "user", "content": prompt}] if prompt else None)
    if system:
        out = [{"role": "system", "content": system}, *(out or [])]
    return out


def deployment_body(
    key: str,
    *,
    stream: bool,
    inputs: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    prefix_messages: list[dict] | None = None,
    messages: list[dict] | None = None,
    identity: Mapping[str, Any] | str | None = None,
    file_ids: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    extra_params: Mapping[str, Any] | None = None,
    documents: list[dict] | None = None,
    invoke_options: Mapping[str, Any] | None = None,
    thread: Mapping[str, Any] | str | None = None,
    knowledge_filter: Mapping[str, Any] | None = None,
    mock_response: str | None = None,
    include_retrievals: bool | None = None,
    include_usage: bool | None = None,
) -> dict[str, Any]:
    """The JSON body of ``/v2/deployments/invoke`` and ``/stream``, checked before sending.

    ``identity`` and ``thread`` may be given as a bare id string. ``mock_response``,
    ``include_retrievals`` and ``include_usage`` are shortcuts into ``invoke_options``.
    """
    if not isinstance(key, str) or not key.strip():
        raise ValidationError("the deployment key must be a non-empty string", field="key")
    fields: dict[str, Any] = {
        "inputs": inputs, "context": context, "metadata": metadata,
        "extra_params": extra_params, "knowledge_filter": knowledge_filter,
        "prefix_messages": prefix_messages, "messages": messages,
        "file_ids": file_ids, "documents": documents,
    }
    body: dict[str, Any] = {"key": key.strip(), "stream": stream}
    for name in _MAPPING_FIELDS:
        value = fields[name]
        if value is not None:
            if not isinstance(value, Mapping):
                raise ValidationError(f"{name} must be a dict, got {type(value).__name__}", field=name)
            body[name] = dict(value)
    for name in ("prefix_messages", "messages"):
        if fields[name] is not None:
            body[name] = _check_messages(name, fields[name])
    if file_ids is not None:
        if not isinstance(file_ids, list) or not all(isinstance(f, str) for f in file_ids):
            raise ValidationError("file_ids must be a list of strings", field="file_ids")
        body["file_ids"] = list(file_ids)
    if documents is not None:
        if not isinstance(documents, list) or not all(
            isinstance(d, Mapping) and isinstance(d.get("text"), str) for d in documents
        ):
            raise ValidationError("documents must be a list of dicts with a 'text'", field="documents")
        body["documents"] = [dict(d) for d in documents]
    for name, value in (("identity", identity), ("thread", thread)):
        if value is None:
            continue
        if isinstance(value, str):
            value = {"id": value}
        if not isinstance(value, Mapping) or not isinstance(value.get("id"), str) or not value["id"].strip():
            raise ValidationError(f"{name} must be an id string (not empty) or a dict with an 'id'", field=name)
        body[name] = dict(value)
    options = dict(invoke_options or {})
    if mock_response is not None:
        if not isinstance(mock_response, str):
            raise ValidationError("mock_response must be a string", field="mock_response")
        options["mock_response"] = mock_response
    if include_retrievals is not None:
        options["include_retrievals"] = bool(include_retrievals)
    if include_usage is not None:
        options["include_usage"] = bool(include_usage)
    if options:
        body["invoke_options"] = options
    return {name: json_ready(value, name) for name, value in body.items()}


def deployment_hint(key: str, server_message: str, keys: list[str]) -> str:
    """What to add to a 404 for deployment ``key``: " Did you mean 'x'?", or "" when the server said so already.

    The sandbox (and perhaps orq) suggests in its own message; repeating it would print the hint twice.
    """
    if "did you mean" in server_message.lower():
        return ""
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def metrics_body(
    *,
    score: int | None = None,
    usage: Mapping[str, Any] | None = None,
    performance: Mapping[str, Any] | None = None,
    messages: list[dict] | None = None,
    choices: list[dict] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of ``POST /v2/deployments/{id}/metrics``, checked field by field."""
    body: dict[str, Any] = {}
    if score is not None:
        if isinstance(score, float) and score.is_integer():
            score = int(score)
        if isinstance(score, bool) or not isinstance(score, numbers.Integral):  # numpy.int64(90) is a whole number
            raise ValidationError(
                f"score must be a whole number from 0 to 100, got {score!r}", field="score"
            )
        score = int(score)
        if not 0 <= score <= 100:
            raise ValidationError(f"score must be from 0 to 100, got {score}", field="score")
        body["feedback"] = {"score": score}
    if usage is not None:
        if not isinstance(usage, Mapping):
            raise ValidationError("usage must be a dict", field="usage")
        for name in ("prompt_tokens", "completion_tokens"):
            value = usage.get(name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise ValidationError(f"usage needs {name} (a finite number >= 0)", field=f"usage.{name}")
        body["usage"] = {k: v for k, v in usage.items() if v is not None}
    if performance is not None:
        if not isinstance(performance, Mapping):
            raise ValidationError("performance must be a dict", field="performance")
        for name, required in (("latency", True), ("time_to_first_token", False)):
            value = performance.get(name)
            if value is None and not required:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise ValidationError(
                    f"performance needs {name} in milliseconds (a finite number >= 0)",
                    field=f"performance.{name}",
                )
        body["performance"] = {k: v for k, v in performance.items() if v is not None}
    if messages is not None:
        body["messages"] = _check_messages("messages", messages)
    if choices is not None:  # the seed types choices as messages (role + content), not OpenAI choices
        body["choices"] = _check_messages("choices", choices)
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise ValidationError("metadata must be a dict", field="metadata")
        body["metadata"] = dict(metadata)
    if not body:
        raise ValidationError(
            "nothing to send: give a score, usage, performance, messages, choices or metadata"
        )
    return {name: json_ready(value, name) for name, value in body.items()}


def check_id(value: Any, field: str, *, what: str) -> str:
    """A response (transaction) id, checked before it goes into the URL path."""
    return path_id(value, field, what=what)


def _metrics_call(transaction_id: str, body: dict[str, Any]) -> Call:
    return Call("POST", f"/v2/deployments/{check_id(transaction_id, 'transaction_id', what='the response id')}/metrics", json=body)


MAX_PAGES = 200  # pages of deployments one listing follows (10,000 at 50 a page)
HINT_PAGES = 10  # pages a 404's "did you mean" looks through: a hint is not worth a long wait


class PageWalk:
    """Following ``has_more`` through pages of deployments, bounded: at most ``max_pages``, and never in a loop.

    A server that keeps saying ``has_more`` would otherwise be followed for ever
    (27,017 pages in 20 s, seen); one that hands back a cursor it gave before is
    going round in circles. Shared by the sync and async clients, which only send.
    """

    def __init__(self, limit: int, max_pages: int) -> None:
        self.limit, self.max_pages = limit, max_pages
        self.items: list[dict[str, Any]] = []
        self.pages = 0
        self.capped = False
        self._cursor: str | None = None
        self._seen: set[str] = set()
        self._done = False

    def call(self) -> Call | None:
        """The next page's request, or None when the walk is over."""
        if self._done:
            return None
        params: list[tuple[str, str | int]] = [("limit", self.limit)]
        if self._cursor:
            params.append(("starting_after", self._cursor))
        return Call("GET", "/v2/deployments", params=params)

    def take(self, page: Any) -> None:
        self.pages += 1
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise OrqMagicError(f"orq.ai sent page {self.pages} of the deployments in an unexpected shape "
                                "(no list of objects under 'data')")
        self.items.extend(data)
        cursor = data[-1].get("id") if data else None
        if not page.get("has_more") or not isinstance(cursor, str) or not cursor:
            self._done = True
        elif cursor in self._seen:
            raise OrqMagicError(f"orq.ai sent the deployments from {cursor!r} again on page {self.pages} "
                                f"(its pages go round in a loop); stopped after {len(self.items):,} deployments")
        elif self.pages >= self.max_pages:
            self._done = self.capped = True
        else:
            self._seen.add(cursor)
            self._cursor = cursor

    def result(self) -> list[dict[str, Any]]:
        if self.capped:
            import warnings

            warnings.warn(f"orq.ai still had more deployments after {self.pages} pages: listing the first "
                          f"{len(self.items):,} (list_deployments(max_pages=...) goes further)", stacklevel=3)
        return self.items


def deployment_keys(deployments: list[dict[str, Any]]) -> list[str]:
    """The keys of listed deployments (what a 404's "did you mean" chooses from)."""
    return [d["key"] for d in deployments if isinstance(d.get("key"), str) and d["key"]]


class OrqClient(SyncClient):
    """orq.ai deployments API (blocking). See :class:`AsyncOrqClient` for asyncio."""

    service = "orq"

    def invoke(self, key: str, **fields: Any) -> dict[str, Any]:
        """``POST /v2/deployments/invoke``: the whole answer as one JSON object."""
        return self._call(Call("POST", "/v2/deployments/invoke", json=deployment_body(key, stream=False, **fields)))

    def stream(self, key: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """``POST /v2/deployments/stream``: yield each chunk until ``[DONE]``.

        The body is validated here, before the first ``next()``, so bad input
        raises at the call and nothing is sent.
        """
        return self._events(Call("POST", "/v2/deployments/stream", json=deployment_body(key, stream=True, **fields)))

    def add_metrics(self, transaction_id: str, **fields: Any) -> dict[str, Any]:
        """``POST /v2/deployments/{id}/metrics`` for the response ``transaction_id``."""
        return self._call(_metrics_call(transaction_id, metrics_body(**fields)))

    def list_deployments(self, *, limit: int = 50, max_pages: int = MAX_PAGES) -> list[dict[str, Any]]:
        """Every deployment, ``limit`` a page, following ``has_more`` (at most ``max_pages`` pages, then a warning).

        A server whose pages come round again (a repeated cursor) is an error, not a loop: see :class:`PageWalk`.
        """
        walk = PageWalk(limit, max_pages)
        while (call := walk.call()) is not None:
            walk.take(self._call(call))
        return walk.result()

    def deployment_keys(self) -> list[str]:
        """Deployment keys for a 404's "did you mean": the first :data:`HINT_PAGES` pages, quietly."""
        walk = PageWalk(50, HINT_PAGES)
        while (call := walk.call()) is not None:
            walk.take(self._call(call))
        return deployment_keys(walk.items)


class AsyncOrqClient(AsyncClient):
    """orq.ai deployments API for asyncio (used by batch runs)."""

    service = "orq"

    async def invoke(self, key: str, **fields: Any) -> dict[str, Any]:
        return await self._call(Call("POST", "/v2/deployments/invoke", json=deployment_body(key, stream=False, **fields)))

    def stream(self, key: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
        return self._events(Call("POST", "/v2/deployments/stream", json=deployment_body(key, stream=True, **fields)))

    async def add_metrics(self, transaction_id: str, **fields: Any) -> dict[str, Any]:
        return await self._call(_metrics_call(transaction_id, metrics_body(**fields)))

    async def list_deployments(self, *, limit: int = 50, max_pages: int = MAX_PAGES) -> list[dict[str, Any]]:
        walk = PageWalk(limit, max_pages)
        while (call := walk.call()) is not None:
            walk.take(await self._call(call))
        return walk.result()

    async def deployment_keys(self) -> list[str]:
        walk = PageWalk(50, HINT_PAGES)
        while (call := walk.call()) is not None:
            walk.take(await self._call(call))
        return deployment_keys(walk.items)
