"""Reading a judge's answer, strictly: a score (or a pairwise winner) the judge stated, never one we guessed.

Accepted: the whole answer is one JSON object (optionally in a ```json fence)
with ``score`` (a number) and an optional ``reason``; or the answer has exactly
one line ``score: X`` (then ``reason: ...`` on another line, if any). Anything
else, a second score (a key given twice in the JSON, or a JSON ``"score":`` next
to a score line), a score that is not a finite number written in ASCII digits
(``0_5`` or ``٣`` are not read as 5 or 3), or one outside the metric's scale
raises :class:`JudgeAnswerError`, whose message becomes the row's
``judge_error``. A number found somewhere in prose is not a score: taking it
would turn "I'd give it 7, but..." into data. Any API key of this process is
masked in reasons and messages (a judge can echo what its prompt held).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..clients.redaction import redact_known
from ..errors import JudgeAnswerError

_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.DOTALL)
_SCORE_LINE = re.compile(r"(?im)^[ \t*_]*score[ \t*_]*[:=][ \t]*(\S+?)[ \t*_.]*$")
_WINNER_LINE = re.compile(r"(?im)^[ \t*_]*winner[ \t*_]*[:=][ \t]*(\S+?)[ \t*_.]*$")
_REASON_LINE = re.compile(r"(?im)^[ \t*_]*reason[ \t*_]*[:=][ \t]*(.+?)[ \t]*$")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = {"nan", "inf", "infinity"}
_WINNERS = {"1": "1", "2": "2", "tie": "tie", "a": "1", "b": "2", "first": "1", "second": "2", "equal": "tie"}


def _short(text: str) -> str:
    text = " ".join(redact_known(text).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _json_object(text: str) -> dict[str, Any] | None:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body.startswith("{"):
        return None
    try:
        value = json.loads(body, object_pairs_hook=_once)
    except _Twice as twice:
        raise JudgeAnswerError(f"the judge's JSON states {_short(repr(twice.args[0]))} more than once: {_short(text)!r}") from None
    except (ValueError, RecursionError):
        raise JudgeAnswerError(f"the judge's answer is not valid JSON: {_short(text)!r}") from None
    if not isinstance(value, dict):
        return None
    return value


class _Twice(ValueError):
    """A JSON object with a key given twice (json.loads would keep the last one silently)."""


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Twice(key)
        out[key] = value
    return out


def _number(value: Any, text: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise JudgeAnswerError(f"the judge's score is not a number: {_short(text)!r}")
    if isinstance(value, str):
        value = value.strip()
        if not _DECIMAL.fullmatch(value):  # float() also reads "0_5" as 5 and "٣" as 3: not what was written
            what = "a finite number" if value.lower().lstrip("+-") in _NOT_FINITE else "a number"
            raise JudgeAnswerError(f"the judge's score is not {what}: {_short(text)!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # an integer too large for a float is not a finite score either
        raise JudgeAnswerError(f"the judge's score is not a finite number: {_short(text)!r}") from None
    if not math.isfinite(number):
        raise JudgeAnswerError(f"the judge's score is not a finite number: {_short(text)!r}")
    return number + 0.0  # -0 is 0


def _one_line(pattern: re.Pattern[str], text: str, what: str) -> str | None:
    found = pattern.findall(text)
    if len(found) > 1:
        raise JudgeAnswerError(f"the judge stated {len(found)} {what} lines: {_short(text)!r}")
    return found[0] if found else None


def _stated(text: Any, field: str, line: re.Pattern[str], example: str) -> tuple[Any, Any]:
    """The raw ``field`` and the reason a judge stated: from its one JSON object, else from exactly one
    ``field: X`` line, never from both (which one would count is a guess)."""
    if not isinstance(text, str) or not text.strip():
        raise JudgeAnswerError("the judge gave no answer")
    obj = _json_object(text)
    if obj is not None:
        if field not in obj:
            raise JudgeAnswerError(f"the judge's JSON has no {field}: {_short(text)!r}")
        return obj[field], obj.get("reason")
    raw = _one_line(line, text, field)
    if raw is None:
        raise JudgeAnswerError(f"the judge's answer states no {field} (a JSON object or a '{example}' line): "
                               f"{_short(text)!r}")
    if re.search(rf'"{field}"\s*:', text, re.IGNORECASE):
        raise JudgeAnswerError(f"the judge stated a {field} line and a JSON {field}: {_short(text)!r}")
    return raw, _one_line(_REASON_LINE, text, "reason")


def _reason(reason: Any) -> str:
    return "" if reason is None else redact_known(str(reason)).strip()


def parse_score(text: Any, scale: tuple[float, float]) -> tuple[float, str]:
    """The score and reason a judge stated; raises :class:`JudgeAnswerError` for anything else."""
    raw, reason = _stated(text, "score", _SCORE_LINE, "score: X")
    score = _number(raw, text)
    low, high = scale
    if not low <= score <= high:
        raise JudgeAnswerError(f"the judge's score {score:.15g} is outside the metric's scale {low:.15g}–{high:.15g}")
    return score, _reason(reason)


def parse_winner(text: Any) -> tuple[str, str]:
    """``"1"``, ``"2"`` or ``"tie"`` and the reason a judge stated for a pair; raises :class:`JudgeAnswerError`."""
    raw, reason = _stated(text, "winner", _WINNER_LINE, "winner: 1")
    winner = _WINNERS.get(str(raw).strip().lower()) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if winner is None:
        raise JudgeAnswerError(f"the judge's winner must be 1, 2 or tie, got {_short(repr(raw))}")
    return winner, _reason(reason)


__all__ = ["JudgeAnswerError", "parse_score", "parse_winner"]
