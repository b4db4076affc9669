"""``{{name}}`` templates: filling notebook variables (or a row's columns) into prompt text.

Shared by ``%%invoke --interpolate`` and batch runs. Only ``{{name}}`` and
``{{obj.attr}}`` are replaced, so single braces in code and JSON are never
touched; ``str.format`` is never applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError

_PLACEHOLDER = re.compile(r"(\\?)\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


class TemplateError(ValidationError):
    """A ``{{name}}`` that names no variable (or no attribute)."""


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace ``{{name}}`` (or ``{{obj.attr}}``) by the variable's value.

    Nothing else is touched: single braces in code or JSON stay as they are, and
    ``\\{{name}}`` is written out literally as ``{{name}}``.
    """

    def replace(match: re.Match[str]) -> str:
        escaped, dotted = match.group(1), match.group(2)
        if escaped:
            return match.group(0)[1:]
        head, *attrs = dotted.split(".")
        if head not in namespace:
            raise TemplateError(f"{{{{{dotted}}}}}: no variable named {head!r} in the notebook")
        value = namespace[head]
        for attr in attrs:
            try:
                value = getattr(value, attr)
            except AttributeError:
                raise TemplateError(f"{{{{{dotted}}}}}: {head} has no attribute {attr!r}") from None
        return str(value)

    return _PLACEHOLDER.sub(replace, text)
