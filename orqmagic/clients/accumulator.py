"""Folding orq stream chunks into one answer.

Chunks carry ``choices[0].message`` with ``content`` as a *delta* to append.
The ``is_final`` chunk carries usage, retrievals and finish_reason; its content
may repeat the whole text, so it is appended only where it adds something new.
``add`` is on the streaming hot path: it does dictionary look-ups, type checks
and a list append per chunk, nothing more. A chunk of the wrong shape (a
number where text belongs, a list where an object does) raises
:class:`~orqmagic.MalformedChunkError` and leaves the text so far in place.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import MalformedChunkError

_Wrong = (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError)


def normalise_usage(usage: Any) -> dict[str, int] | None:
    """Usage in one spelling, whichever the server used.

    orq answers ``prompt_tokens``/``completion_tokens`` (stream) or
    ``input_tokens``/``output_tokens`` (invoke example).
    """
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("prompt_tokens", usage.get("input_tokens")))
    completion = _count(usage.get("completion_tokens", usage.get("output_tokens")))
    total = _count(usage.get("total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    out = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    return {k: v for k, v in out.items() if v is not None}


def _count(value: Any) -> int | None:
    """A token count as an int; anything else (text, NaN, infinity, a bool) is no count."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value)


def _merge_final(accumulated: str, final: str) -> str:
    """What a final chunk's content adds to ``accumulated`` (``""`` if it only repeats it)."""
    if not accumulated:
        return final
    if final == accumulated or accumulated.startswith(final) or final.strip() == accumulated.strip():
        return ""  # a repeat of the text so far, trimmed or not
    if final.startswith(accumulated):
        return final[len(accumulated):]
    body = accumulated.rstrip()
    if body and final.startswith(body):  # the repeat lacks our trailing whitespace, then goes on
        rest, trailing = final[len(body):], accumulated[len(body):]
        return rest[len(trailing):] if rest.startswith(trailing) else rest.lstrip()
    stripped = final.strip()
    if stripped and accumulated.strip().startswith(stripped):
        return ""
    return final


def model_name(provider: Any, model: Any) -> str | None:
    """``provider/model``, the one form every frame uses for a model (and ``prices=`` is keyed by)."""
    parts = [str(p) for p in (provider, model) if p not in (None, "")]
    if len(parts) == 2 and parts[1].startswith(parts[0] + "/"):
        return parts[1]  # the model already names its provider
    return "/".join(parts) or None


class StreamAccumulator:
    """Turns chunks (or one invoke response) into text, reasoning, tool calls and metadata."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tools: dict[int, dict[str, Any]] = {}
        self.images: list[str] = []
        self.id: str | None = None
        self.trace_id: str | None = None
        self.span_id: str | None = None
        self.model: str | None = None
        self.provider: str | None = None
        self.created: str | None = None
        self.usage: dict[str, int] | None = None
        self.retrievals: list[dict[str, Any]] | None = None
        self.finish_reason: str | None = None
        self.final = False
        self.chunks = 0

    @property
    def model_name(self) -> str | None:
        """``provider/model`` (the form ``prices=`` is keyed by), or what is known of it."""
        return model_name(self.provider, self.model)

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [self._tools[i] for i in sorted(self._tools)]

    def add(self, chunk: dict[str, Any]) -> str:
        """Fold one chunk in and return the text it added (``""`` if none).

        A chunk of the wrong shape raises :class:`MalformedChunkError` and adds
        no text: the text so far stays as it was (``chunks`` counts only the
        chunks folded in whole). The text is appended last, once the chunk has
        passed every check.
        """
        added = ""
        try:
            if self.id is None:
                self._identity(chunk)
            final = chunk.get("is_final") is True
            choices = chunk.get("choices")
            if choices:
                # choices, choices[0] or message of another type fail in the look-ups themselves (see _what)
                choice = choices[0]
                message = choice.get("message")
                if message:
                    content = message.get("content")
                    if content:
                        if type(content) is not str:
                            _wrong("content", content, "text")
                        added = _merge_final(self.text, content) if final else content
                    if message.get("type") != "content" or "reasoning" in message:
                        self._rarer_parts(message, final)
                reason = choice.get("finish_reason")
                if reason:
                    self.finish_reason = reason if type(reason) is str else _wrong("finish_reason", reason, "text")
            if final:
                self._finish(chunk)
        except _Wrong as exc:
            raise MalformedChunkError(
                f"chunk {self.chunks + 1} of the stream has the wrong shape ({_what(chunk, exc)}); "
                "the stream was abandoned there, the text so far kept"
            ) from None
        if added:
            self._text.append(added)
        self.chunks += 1
        return added

    def _identity(self, chunk: dict[str, Any]) -> None:
        """Ids, model and provider, from the first chunk (text or nothing: they end up in URLs and tables)."""
        for name in ("id", "model", "provider", "created"):
            value = chunk.get(name)
            if value is not None and type(value) is not str:
                _wrong(name, value, "text")
        self.id, self.model, self.provider = chunk.get("id"), chunk.get("model"), chunk.get("provider")
        self.created = chunk.get("created")
        self._telemetry(chunk)

    def _rarer_parts(self, message: dict[str, Any], final: bool) -> None:
        reasoning_so_far = len(self._reasoning)
        try:
            self._reasoning_tools_images(message, final)
        except _Wrong:
            del self._reasoning[reasoning_so_far:]  # a rejected chunk adds no reasoning either
            raise

    def _reasoning_tools_images(self, message: dict[str, Any], final: bool) -> None:
        reasoning = message.get("reasoning")
        if reasoning:
            if type(reasoning) is not str:
                _wrong("reasoning", reasoning, "text")
            piece = _merge_final(self.reasoning, reasoning) if final else reasoning
            if piece:
                self._reasoning.append(piece)
        calls = message.get("tool_calls") or []
        for position, call in enumerate(calls if type(calls) is list else _wrong("tool_calls", calls, "a list")):
            self._merge_tool_call(position, call, final)
        if message.get("type") == "image" and message.get("url"):
            url = message["url"]
            self.images.append(url if type(url) is str else _wrong("url", url, "text"))

    def _merge_tool_call(self, position: int, call: dict[str, Any], final: bool) -> None:
        if type(call) is not dict:
            _wrong("tool_calls[]", call, "an object")
        index = call.get("index")
        index = position if not isinstance(index, (int, float)) else int(index)
        function = call.get("function") or {}
        if type(function) is not dict:
            _wrong("function", function, "an object")
        for name in ("name", "arguments"):
            if function.get(name) is not None and type(function[name]) is not str:
                _wrong(f"function.{name}", function[name], "text")
        if call.get("id") is not None and type(call["id"]) is not str:
            _wrong("tool_calls[].id", call["id"], "text")
        entry = self._tools.setdefault(
            index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            entry["id"] = call["id"]
        if function.get("name") and not entry["function"]["name"]:
            entry["function"]["name"] = function["name"]
        arguments = function.get("arguments")
        if arguments:
            so_far = entry["function"]["arguments"]
            entry["function"]["arguments"] += _merge_final(so_far, arguments) if final else arguments

    def _telemetry(self, chunk: dict[str, Any]) -> None:
        """The trace and span ids orq puts on every chunk (read once: they are the same on all)."""
        telemetry = chunk.get("telemetry")
        if isinstance(telemetry, dict):
            for name in ("trace_id", "span_id"):
                if telemetry.get(name) is not None and type(telemetry[name]) is not str:
                    _wrong(f"telemetry.{name}", telemetry[name], "text")
            self.trace_id = telemetry.get("trace_id") or self.trace_id
            self.span_id = telemetry.get("span_id") or self.span_id

    def _finish(self, chunk: dict[str, Any]) -> None:
        self.final = True
        if self.trace_id is None:
            self._telemetry(chunk)
        usage = normalise_usage(chunk.get("usage"))
        if usage:
            self.usage = usage
        retrievals = chunk.get("retrievals")
        if retrievals is not None:
            if type(retrievals) is not list or not all(type(r) is dict for r in retrievals):
                _wrong("retrievals", retrievals, "a list of objects")
            self.retrievals = retrievals


class _Shape(TypeError):
    """A field of the wrong type, named (raised inside ``add`` and turned into a MalformedChunkError)."""


def _wrong(field: str, value: Any, expected: str) -> Any:
    raise _Shape(f"{field} is {_kind(value)}, not {expected}")


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _what(chunk: Any, exc: BaseException) -> str:
    """What was wrong with a chunk ``add`` refused: worked out only then, to keep ``add`` to its look-ups."""
    if isinstance(exc, _Shape):
        return str(exc)
    if type(chunk) is not dict:
        return f"the chunk is {_kind(chunk)}, not an object"
    choices = chunk.get("choices")
    if type(choices) is not list:
        return f"choices is {_kind(choices)}, not a list"
    if type(choices[0]) is not dict:
        return f"choices[0] is {_kind(choices[0])}, not an object"
    message = choices[0].get("message")
    if message and type(message) is not dict:
        return f"message is {_kind(message)}, not an object"
    return f"a field of an unexpected type ({type(exc).__name__})"
