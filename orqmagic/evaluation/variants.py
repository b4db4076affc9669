"""The columns of a comparison: deployment keys times variants, each request merged and checked.

Kept apart from the runner so that everything a comparison will send is decided,
and validated, before the first call.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..clients.accumulator import StreamAccumulator
from ..clients.orq import build_messages, deployment_body
from ..errors import ValidationError
from ..result import InvokeResult

#: Request fields a variant may set, besides the deployment_body fields.
_MESSAGE_FIELDS = ("prompt", "system", "messages")
#: Dict fields a variant merges into the shared ones (a variant's temperature keeps the shared max_tokens).
_MERGED_FIELDS = ("inputs", "context", "metadata", "extra_params", "invoke_options")
_BODY_FIELDS = frozenset(inspect.signature(deployment_body).parameters) - {"key", "stream"}


@dataclass
class Column:
    """One column while it runs: what it sends, what has arrived, and its result once it ends."""

    label: str
    deployment: str
    request: dict[str, Any]
    acc: StreamAccumulator = field(default_factory=StreamAccumulator)
    result: InvokeResult | None = None
    not_found: bool = False
    cached: Any = None  # the response cache's view of this request (cache=True)
    kept: list[dict[str, Any]] | None = None  # the chunks, kept to store a complete new answer in the cache


def did_you_mean(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def plan(keys: Sequence[str] | str, prompt: str | None, variants: Mapping[str, Mapping[str, Any]] | None,
         fields: dict[str, Any]) -> list[Column]:
    """The columns of a comparison, each request checked; raises ValidationError before anything is sent."""
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, Sequence) or not keys or not all(isinstance(k, str) and k.strip() for k in keys):
        raise ValidationError("give the deployment keys to compare as a list of strings", field="keys")
    if variants is not None:
        if not isinstance(variants, Mapping) or not variants:
            raise ValidationError("variants must be a dict: label -> request fields", field="variants")
        for label, variant in variants.items():
            if not isinstance(label, str) or not label:
                raise ValidationError(f"variant labels must be non-empty strings, got {label!r}", field="variants")
            if not isinstance(variant, Mapping):
                raise ValidationError(f"variant {label!r} must be a dict of request fields", field="variants")
            unknown = [k for k in variant if k not in _BODY_FIELDS and k not in _MESSAGE_FIELDS]
            if unknown:
                known = sorted(_BODY_FIELDS | set(_MESSAGE_FIELDS))
                hint = did_you_mean(unknown[0], known) or "; provider parameters such as temperature go in extra_params"
                raise ValidationError(f"variant {label!r}: unknown field {unknown[0]!r}{hint}", field="variants")
    shared = {"prompt": prompt, **fields}
    specs: list[tuple[str, str, dict[str, Any]]] = []
    for key in keys:
        for label, variant in (variants or {None: {}}).items():
            name = key if label is None else (label if len(keys) == 1 else f"{key} · {label}")
            specs.append((name, key.strip(), _merge(shared, variant)))
    if len(specs) < 2:
        raise ValidationError("a comparison needs two or more columns: name more deployments or give variants",
                              field="keys")
    columns, seen = [], set()
    for name, key, request in specs:
        label, n = name, 2
        while label in seen:  # the same key twice: a second run of it, told apart
            label, n = f"{name} #{n}", n + 1
        seen.add(label)
        where = f"column {label!r}: "
        try:
            message_fields = {k: request.pop(k, None) for k in _MESSAGE_FIELDS}
            messages = build_messages(message_fields["prompt"], system=message_fields["system"],
                                      messages=message_fields["messages"])
            if messages is not None:
                request["messages"] = messages
            if not request.get("messages") and not request.get("inputs") and "mock_response" not in request:
                raise ValidationError("nothing to send: give a prompt, messages or inputs", field="prompt")
            deployment_body(key, stream=True, **request)
        except ValidationError as exc:
            raise ValidationError(where + str(exc), field=exc.field) from None
        except TypeError as exc:
            raise ValidationError(where + str(exc), field="fields") from None
        columns.append(Column(label, key, request))
    return columns


def _merge(shared: dict[str, Any], variant: Mapping[str, Any]) -> dict[str, Any]:
    request = {k: v for k, v in shared.items() if v is not None}
    for name, value in variant.items():
        if name in _MERGED_FIELDS and isinstance(value, Mapping) and isinstance(request.get(name), Mapping):
            request[name] = {**request[name], **value}
        elif name == "messages":  # a variant's own turns replace the shared prompt
            request.pop("prompt", None)
            request[name] = value
        else:
            request[name] = value
    return request


__all__ = ["Column", "did_you_mean", "plan"]
