"""Checking what goes into a request before anything is sent: JSON bodies and ids in URL paths."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError

MAX_JSON_DEPTH = 64


def json_ready(value: Any, field: str) -> Any:
    """``value`` as plain JSON (numpy scalars unwrapped, tuples as lists), or a one-line error naming the place.

    NaN and infinity are not JSON, and an object JSON cannot encode (a datetime,
    a set, bytes, a self-containing dict) is refused here, before anything is sent.
    """
    return _ready(value, field, 0)


def _ready(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{where} nests deeper than {MAX_JSON_DEPTH} levels (or contains itself)", field=where.split(".")[0])
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{where} is {value!r}, which JSON cannot carry; use a finite number or None",
                                  field=where.split(".")[0])
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{where} has a key {key!r} that is not a string", field=where.split(".")[0])
            out[key] = _ready(item, f"{where}.{key}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_ready(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    item = getattr(value, "item", None)  # numpy and pandas scalars
    if callable(item) and type(value).__module__.split(".")[0] in ("numpy", "pandas"):
        try:
            return _ready(item(), where, depth + 1)
        except (TypeError, ValueError):
            pass
    raise ValidationError(f"{where} holds a {type(value).__name__}, which cannot be sent as JSON; "
                          "convert it to a string, number, list or dict", field=where.split(".")[0])


_UNSAFE_IN_ID = frozenset("/\\?#%")


def path_id(value: Any, field: str, *, what: str | None = None) -> str:
    """An id that goes into a URL path, checked so it can never reach another path or carry a query."""
    what = what or field
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty id string", field=field)
    value = value.strip()
    if value in (".", "..") or any(c in _UNSAFE_IN_ID or not c.isprintable() or c.isspace() for c in value):
        raise ValidationError(f"{what} must be a non-empty id without '/', '?', '#', '%', spaces or control characters",
                              field=field)
    return value
