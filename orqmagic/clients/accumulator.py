"""Folding orq stream chunks into one answer.

Chunks carry ``choices[0].message`` with ``content`` as a *delta* to append.
The ``is_final`` chunk carries usage, retrievals and finish_reason; its content
may repeat the whole text, so it is appended only where it adds something new.
``add`` is on the streaming hot path: it does dictionary look-ups and a list
append per chunk, nothing more.
"""

from __future__ import annotations

from typing import Any


def normalise_usage(usage: Any) -> dict[str, int] | None:
    """Usage in one spelling, whichever the server used.

    orq answers ``prompt_tokens``/``completion_tokens`` (stream) or
    ``input_tokens``/``output_tokens`` (invoke example).
    """
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    total = usage.get("total_tokens")
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    out = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    return {k: int(v) for k, v in out.items() if isinstance(v, (int, float))}


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
        """Fold one chunk in and return the text it added (``""`` if none)."""
        self.chunks += 1
        if self.id is None:
            self.id = chunk.get("id")
            self.model = chunk.get("model")
            self.provider = chunk.get("provider")
            self.created = chunk.get("created")
            self._telemetry(chunk)
        final = chunk.get("is_final") is True
        added = ""
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            message = choice.get("message")
            if message:
                content = message.get("content")
                if content:
                    added = _merge_final(self.text, content) if final else content
                    if added:
                        self._text.append(added)
                if message.get("type") != "content" or "reasoning" in message:
                    self._rarer_parts(message, final)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        if final:
            self._finish(chunk)
        return added

    def _rarer_parts(self, message: dict[str, Any], final: bool) -> None:
        reasoning = message.get("reasoning")
        if reasoning:
            piece = _merge_final(self.reasoning, reasoning) if final else reasoning
            if piece:
                self._reasoning.append(piece)
        for position, call in enumerate(message.get("tool_calls") or ()):
            self._merge_tool_call(position, call, final)
        if message.get("type") == "image" and message.get("url"):
            self.images.append(message["url"])

    def _merge_tool_call(self, position: int, call: dict[str, Any], final: bool) -> None:
        index = call.get("index")
        index = position if not isinstance(index, (int, float)) else int(index)
        function = call.get("function") or {}
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
            self.trace_id = telemetry.get("trace_id") or self.trace_id
            self.span_id = telemetry.get("span_id") or self.span_id

    def _finish(self, chunk: dict[str, Any]) -> None:
        self.final = True
        if self.trace_id is None:
            self._telemetry(chunk)
        usage = normalise_usage(chunk.get("usage"))
        if usage:
            self.usage = usage
        if chunk.get("retrievals") is not None:
            self.retrievals = chunk["retrievals"]
