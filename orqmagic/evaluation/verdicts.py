"""Reading a judge's answer, strictly: a score (or a pairwise winner) the judge stated, never one we guessed.

Accepted: the whole answer is one JSON object (optionally in a ```json fence)
with ``score`` (a number) and an optional ``reason``; or the answer has exactly
one line ``score: X`` (then ``reason: ...`` on another line, if any). Anything
else, a second score, a score that is not a finite number, or one outside the
metric's scale raises :class:`JudgeAnswerError`, whose message becomes the row's
``judge_error``. A number found somewhere in prose is not a score: taking it
would turn "I'd give it 7, but..." into data.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..errors import JudgeAnswerError

_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.DOTALL)
_SCORE_LINE = re.compile(r"(?im)^[ \t*_]*score[ \t*_]*[:=][ \t]*(\S+?)[ \t*_.]*$")
_WINNER_LINE = re.compile(r"(?im)^[ \t*_]*winner[ \t*_]*[:=][ \t]*(\S+?)[ \t*_.]*$")
_REASON_LINE = re.compile(r"(?im)^[ \t*_]*reason[ \t*_]*[:=][ \t]*(.+?)[ \t]*$")
_WINNERS = {"1": "1", "2": "2", "tie": "tie", "a": "1", "b": "2", "first": "1", "second": "2", "equal": "tie"}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _json_object(text: str) -> dict[str, Any] | None:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body.startswith("{"):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        raise JudgeAnswerError(f"the judge's answer is not valid JSON: {_short(text)!r}") from None
    if not isinstance(value, dict):
        return None
    return value


def _number(value: Any, text: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise JudgeAnswerError(f"the judge's score is not a number: {_short(text)!r}")
    try:
        number = float(value)
    except ValueError:
        raise JudgeAnswerError(f"the judge's score is not a number: {_short(text)!r}") from None
    if not math.isfinite(number):
        raise JudgeAnswerError(f"the judge's score is not a finite number: {_short(text)!r}")
    return number


def _one_line(pattern: re.Pattern[str], text: str, what: str) -> str | None:
    found = pattern.findall(text)
    if len(found) > 1:
        raise JudgeAnswerError(f"the judge stated {len(found)} {what} lines: {_short(text)!r}")
    return found[0] if found else None


def parse_score(text: Any, scale: tuple[float, float]) -> tuple[float, str]:
    """The score and reason a judge stated; raises :class:`JudgeAnswerError` for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise JudgeAnswerError("the judge gave no answer")
    obj = _json_object(text)
    if obj is not None:
        if "score" not in obj:
            raise JudgeAnswerError(f"the judge's JSON has no score: {_short(text)!r}")
        score, reason = _number(obj["score"], text), obj.get("reason")
    else:
        line = _one_line(_SCORE_LINE, text, "score")
        if line is None:
            raise JudgeAnswerError(f"the judge's answer states no score (a JSON object or a 'score: X' line): "
                                   f"{_short(text)!r}")
        score, reason = _number(line, text), _one_line(_REASON_LINE, text, "reason")
    low, high = scale
    if not low <= score <= high:
        raise JudgeAnswerError(f"the judge's score {score:g} is outside the metric's scale {low:g}–{high:g}")
    return score, "" if reason is None else str(reason).strip()


def parse_winner(text: Any) -> tuple[str, str]:
    """``"1"``, ``"2"`` or ``"tie"`` and the reason a judge stated for a pair; raises :class:`JudgeAnswerError`."""
    if not isinstance(text, str) or not text.strip():
        raise JudgeAnswerError("the judge gave no answer")
    obj = _json_object(text)
    if obj is not None:
        if "winner" not in obj:
            raise JudgeAnswerError(f"the judge's JSON names no winner: {_short(text)!r}")
        raw, reason = obj["winner"], obj.get("reason")
    else:
        raw = _one_line(_WINNER_LINE, text, "winner")
        if raw is None:
            raise JudgeAnswerError(f"the judge's answer names no winner (a JSON object or a 'winner: 1' line): "
                                   f"{_short(text)!r}")
        reason = _one_line(_REASON_LINE, text, "reason")
    winner = _WINNERS.get(str(raw).strip().lower()) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if winner is None:
        raise JudgeAnswerError(f"the judge's winner must be 1, 2 or tie, got {raw!r}")
    return winner, "" if reason is None else str(reason).strip()


__all__ = ["JudgeAnswerError", "parse_score", "parse_winner"]
