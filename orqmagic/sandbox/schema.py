"""Request validation against the seed's JSON schemas, without importing jsonschema.

Why not jsonschema: in an environment with JupyterLab, ``import jsonschema`` also
builds an RFC 3987 grammar for its format checker (0.9 s quiet, 3 s under load),
and the sandbox runs inside the user's kernel, so a new user's first answer
waited for it. The two vendored request schemas use a small set of keywords
(type, properties, required, additionalProperties, items, minItems, enum,
minimum, maximum, anyOf, oneOf, $ref into ``components``); this checks exactly
those, and ignores annotations (``format`` is not asserted, as in jsonschema
without a format checker). ``tests/test_contract.py`` checks it agrees with
jsonschema on valid and invalid bodies.
"""

from __future__ import annotations

from typing import Any

Path = tuple[Any, ...]
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


class Validator:
    """Finds the most specific violation of ``schema`` in a JSON value, or ``None``."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema

    def error(self, value: Any) -> tuple[Path, str] | None:
        return self._check(self.root, value, ())

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _check(self, schema: Any, value: Any, path: Path) -> tuple[Path, str] | None:
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            found = self._check(self._resolve(schema["$ref"]), value, path)
            if found:
                return found
        kind = schema.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            if not any(_TYPES[k](value) for k in kinds if k in _TYPES):
                return path, f"{value!r:.60} is not of type {' or '.join(map(repr, kinds))}"
        if "enum" in schema and value not in schema["enum"]:
            return path, f"{value!r:.60} is not one of {schema['enum']!r:.120}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                return path, f"{value!r} is less than the minimum of {schema['minimum']!r}"
            if "maximum" in schema and value > schema["maximum"]:
                return path, f"{value!r} is greater than the maximum of {schema['maximum']!r}"
        if isinstance(value, dict):
            found = self._object(schema, value, path)
            if found:
                return found
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                return path, f"should have at least {schema['minItems']} item(s)"
            items = schema.get("items")
            for index, item in enumerate(value):
                found = self._check(items, item, (*path, index))
                if found:
                    return found
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                found = self._alternatives(keyword, schema[keyword], value, path)
                if found:
                    return found
        return None

    def _object(self, schema: dict[str, Any], value: dict[str, Any], path: Path) -> tuple[Path, str] | None:
        for name in schema.get("required", ()):
            if name not in value:
                return path, f"{name!r} is a required property"
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                found = self._check(properties[name], item, (*path, name))
            elif schema.get("additionalProperties") is False:
                return path, f"additional property {name!r} is not allowed"
            else:
                found = self._check(schema.get("additionalProperties"), item, (*path, name))
            if found:
                return found
        return None

    def _alternatives(self, keyword: str, options: list[Any], value: Any, path: Path) -> tuple[Path, str] | None:
        errors = [self._check(option, value, path) for option in options]
        matches = errors.count(None)
        if keyword == "oneOf" and matches > 1:
            return path, f"{value!r:.60} is valid under more than one of the given schemas"
        if matches:
            return None
        # The branch that got furthest into the value is the one the sender most likely meant.
        deepest = max((e for e in errors if e), key=lambda e: len(e[0]))
        if len(deepest[0]) > len(path):
            return deepest
        return path, f"{value!r:.60} is not valid under any of the given schemas"


def describe(found: tuple[Path, str] | None) -> str | None:
    """``where: what``, one line (the form the sandbox's 400 answers use)."""
    if found is None:
        return None
    where, message = found
    return f"{'.'.join(map(str, where)) or 'body'}: {message[:200]}"
