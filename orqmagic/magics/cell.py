"""Turning a cell and its options into request fields. Plain functions, no IPython needed.

Every function raises :class:`CellSyntaxError` with one line that says what to fix.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from ..evaluation.templates import interpolate


class CellSyntaxError(ValueError):
    """A cell or option that cannot be turned into a request."""


ROLE_LINE = re.compile(r"^(system|developer|user|assistant):\s*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def parse_chat(text: str) -> list[dict[str, str]]:
    """A multi-turn cell (``--chat``): role lines ``system:``, ``user:``, ``assistant:`` start turns.

    A role line is the role name and a colon alone on its line, outside code
    fences. Text before the first role line is a user turn. Only cells run with
    ``--chat`` are read this way, so ordinary prose never triggers it.
    """
    messages: list[dict[str, str]] = []
    role, lines, fence = "user", [], None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match:
            mark = match.group(1)
            fence = None if fence and mark[0] == fence[0] and len(mark) >= len(fence) else (fence or mark)
        role_match = ROLE_LINE.match(line) if fence is None else None
        if role_match:
            if "\n".join(lines).strip():
                messages.append({"role": role, "content": "\n".join(lines).strip()})
            role, lines = role_match.group(1).lower(), []
        else:
            lines.append(line)
    if "\n".join(lines).strip():
        messages.append({"role": role, "content": "\n".join(lines).strip()})
    if not messages:
        raise CellSyntaxError("the --chat cell has no text under its role lines")
    if not any(m["role"] == "user" for m in messages):
        raise CellSyntaxError("a --chat cell needs a user: turn (a system turn alone asks nothing)")
    if messages[-1]["role"] == "assistant":
        raise CellSyntaxError("a --chat cell must not end with an assistant turn: add a user: turn")
    return messages


def literal_or_variable(token: str, namespace: Mapping[str, Any], *, option: str) -> Any:
    """A notebook variable if ``token`` names one, else a JSON or Python literal."""
    token = token.strip()
    if token.isidentifier() and token in namespace:
        return namespace[token]
    try:
        return json.loads(token)
    except ValueError:
        pass
    try:
        return ast.literal_eval(token)
    except (ValueError, SyntaxError):
        pass
    if token.isidentifier():
        raise CellSyntaxError(f"{option}: no variable named {token!r} in the notebook")
    raise CellSyntaxError(f"{option}: {token!r} is neither a variable nor JSON")


def mapping_option(tokens: list[str] | None, namespace: Mapping[str, Any], *, option: str) -> dict[str, Any] | None:
    """``--inputs``-style options: one dict variable / JSON object, or ``key=value`` pairs.

    In ``key=value`` pairs, a value that names a notebook variable takes that
    variable's value; anything else is taken as text.
    """
    if not tokens:
        return None
    if len(tokens) == 1 and "=" not in tokens[0]:
        token = tokens[0].strip()
        if not token.isidentifier() and not token.startswith("{"):
            raise CellSyntaxError(f"{option}: expected key=value pairs or one dict variable, got {token!r}")
        value = literal_or_variable(token, namespace, option=option)
        if not isinstance(value, Mapping):
            raise CellSyntaxError(f"{option}: expected a dict, got {type(value).__name__}")
        return dict(value)
    if len(tokens) == 1 and tokens[0].lstrip().startswith("{"):
        value = literal_or_variable(tokens[0], namespace, option=option)
        if isinstance(value, Mapping):
            return dict(value)
    out: dict[str, Any] = {}
    for token in tokens:
        key, sep, raw = token.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise CellSyntaxError(f"{option}: expected key=value pairs or one dict variable, got {token!r}")
        out[key] = namespace[raw] if raw.isidentifier() and raw in namespace else raw
    return out


def list_option(token: str | None, namespace: Mapping[str, Any], *, option: str) -> list[Any] | None:
    if token is None:
        return None
    value = literal_or_variable(token, namespace, option=option)
    if not isinstance(value, list):
        raise CellSyntaxError(f"{option}: expected a list, got {type(value).__name__}")
    return value


def id_or_mapping_option(token: str | None, namespace: Mapping[str, Any], *, option: str) -> Any:
    """``--identity``/``--thread``: a bare id, or a dict variable / JSON object with an ``id``."""
    if token is None:
        return None
    if token.isidentifier() and token in namespace:
        return namespace[token]
    if token.lstrip().startswith("{"):
        return literal_or_variable(token, namespace, option=option)
    return token


def ids_option(token: str | None, namespace: Mapping[str, Any], *, option: str) -> list[str] | None:
    """``--file-ids``: a list variable, a JSON list, or comma-separated ids."""
    if token is None:
        return None
    if (token.isidentifier() and token in namespace) or token.lstrip().startswith("["):
        return list_option(token, namespace, option=option)
    ids = [t.strip() for t in token.split(",") if t.strip()]
    if not ids:
        raise CellSyntaxError(f"{option}: no ids given")
    return ids


_METRIC_KEYS = {
    "name": "name", "source": "source", "evaluation_params": "evaluation_params", "judge_prompt": "judge_prompt",
    "evaluator_model_name": "evaluator_model_name", "tags": "tags", "description": "description",
    "documentation_url": "documentation_url", "eval_params_top": "eval_params_top",
    "parent_metric_id": "parent_metric_id", "specification_ids": "specification_ids", "user_group_ids": "user_group_ids",
    # the wire (camelCase) spellings are accepted too
    "evaluationParams": "evaluation_params", "judgePrompt": "judge_prompt", "evaluatorModelName": "evaluator_model_name",
    "documentationUrl": "documentation_url", "areEvalParamsTop": "eval_params_top", "parentMetricId": "parent_metric_id",
    "specificationIds": "specification_ids", "userGroupIds": "user_group_ids",
}


def metric_definition(text: str, *, toml: bool = False) -> dict[str, Any]:
    """A ``%%metric`` cell (YAML, or TOML) as ``create_metric`` keyword arguments, ``name`` included."""
    if not text.strip():
        raise CellSyntaxError("the %%metric cell is empty: write the definition as YAML (name:, source:, ...)")
    if toml:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise CellSyntaxError("TOML cells need Python 3.11 or newer; write YAML instead") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CellSyntaxError(f"the TOML does not parse: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "invalid YAML"
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise CellSyntaxError(f"the YAML does not parse: {problem}{where}") from None
    if not isinstance(data, dict):
        raise CellSyntaxError("the definition must be a mapping of fields (name:, source:, evaluation_params:, ...)")
    unknown = [k for k in data if k not in _METRIC_KEYS]
    if unknown:
        raise CellSyntaxError(f"unknown field {unknown[0]!r}; known: {', '.join(k for k in _METRIC_KEYS if k.islower())}")
    return {_METRIC_KEYS[k]: v for k, v in data.items()}


def request_fields(args: Any, cell: str, ns: Mapping[str, Any], *, interpolate_default: bool = False) -> dict[str, Any]:
    """Request fields from a parsed ``%%invoke`` line and its cell; raises on anything malformed.

    ``ns`` is the notebook namespace that option values may name; ``interpolate_default``
    is the ``%config`` default for ``--interpolate``.
    """
    text = cell.strip()
    if args.interpolate or (args.interpolate is None and interpolate_default):
        text = interpolate(text, ns)
    fields: dict[str, Any] = {}
    for name in ("inputs", "context", "metadata", "extra_params"):
        value = mapping_option(getattr(args, name), ns, option=f"--{name.replace('_', '-')}")
        if value is not None:
            fields[name] = value
    optional = {
        "identity": id_or_mapping_option(args.identity, ns, option="--identity"),
        "thread": id_or_mapping_option(args.thread, ns, option="--thread"),
        "documents": list_option(args.documents, ns, option="--documents"),
        "file_ids": ids_option(args.file_ids, ns, option="--file-ids"),
        "prefix_messages": list_option(args.prefix_messages, ns, option="--prefix-messages"),
        "knowledge_filter": literal_or_variable(args.knowledge_filter, ns, option="--knowledge-filter")
        if args.knowledge_filter else None,
        "mock_response": args.mock,
        "include_retrievals": True if args.retrievals else None,
        "system": args.system,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    if args.messages:
        if text:
            raise CellSyntaxError("--messages sends a message list: leave the cell empty")
        fields["messages"] = list_option(args.messages, ns, option="--messages")
    elif args.chat:
        if not text:
            raise CellSyntaxError("the --chat cell is empty")
        fields["messages"] = parse_chat(text)
    elif text:
        fields["prompt"] = text
    elif "inputs" not in fields and args.mock is None:
        raise CellSyntaxError(
            "the cell is empty: write a prompt under %%invoke, or pass --inputs, --messages or --mock"
        )
    return fields
