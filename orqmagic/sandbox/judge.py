"""What the sandbox's ``judge-bot`` deployment answers: a score, or a pairwise verdict, that tests can compute.

A real judge model is not deterministic; this one is, so a test (or a reader)
knows the right score before asking. The rules, exactly:

**Sections.** The judge reads the last user message (see :func:`.answers.prompt_of`).
A section is the text between a line ``<name>`` and the next line ``</name>``
(tags on lines of their own; the first such pair wins), stripped of surrounding
whitespace. orqmagic's prompt builder (:mod:`orqmagic.evaluation.prompts`) emits
one section per evaluation param, named in snake_case: ``<input>``,
``<actual_output>``, ``<expected_output>``, ``<retrieval_context>``, ... and, for
pairwise judging, ``<answer_1>`` and ``<answer_2>``.

**Words.** The distinct lower-cased runs of letters and digits of a text
(``re.findall(r"[^\\W_]+", text.lower())``, as a set).

**Reference.** The ``<expected_output>`` section; without one (or if it has no
words), the ``<input>`` section. No reference words at all: every answer scores 0.

**Score** (a prompt with ``<actual_output>``): the share of the reference's words
that appear among the answer's words, ``round(share, 2)`` (Python's rounding), as
``{"score": 0.67, "reason": "4 of 6 expected words appear in the answer (missing: ...)."}``.

**Pairwise** (a prompt with ``<answer_1>`` and ``<answer_2>``): the answer with
more of the reference's words wins (the same denominator, so counts are compared
exactly); equal counts tie: ``{"winner": "1" | "2" | "tie", "reason": "..."}``.

**Faults** (the sandbox fault spec, so a test can switch them on per request or
globally; see :mod:`.faults`):

- ``judge_bias=P``: with probability ``P`` a pairwise verdict is ``"1"`` whatever
  the answers say (a judge that prefers the first position). The draw is seeded by
  ``judge_seed`` (default 0) and the whole prompt, so the same prompt always gets
  the same verdict, and the two orders of one pair are independent draws.
- ``judge_malformed=P``: with probability ``P`` (seeded the same way) the answer
  cannot be used: prose with no score, a score that is not a number, truncated
  JSON, or a score outside 0..1, in turn by the draw.

Any other prompt (no sections) gets a one-line instruction of what the judge expects.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

_WORD = re.compile(r"[^\W_]+")

MALFORMED = (
    "I think this answer is pretty good overall.",
    '{"score": "high", "reason": "it reads well"}',
    '{"score": 0.5, "reason": "cut off',
    "score: 1.5",
)


def words(text: str) -> set[str]:
    """The distinct lower-cased words (runs of letters and digits) of ``text``."""
    return set(_WORD.findall(text.lower()))


def section(prompt: str, name: str) -> str | None:
    """The text between a line ``<name>`` and the next line ``</name>``, or ``None`` if there is none."""
    match = re.search(rf"(?m)^[ \t]*<{re.escape(name)}>[ \t]*$\n?(.*?)^[ \t]*</{re.escape(name)}>[ \t]*$", prompt,
                      re.DOTALL)
    return match.group(1).strip() if match else None


def reference(prompt: str) -> set[str]:
    """The words a good answer should contain: the expected output's, else the input's."""
    expected = words(section(prompt, "expected_output") or "")
    return expected or words(section(prompt, "input") or "")


def score(answer: str, ref: set[str]) -> tuple[float, str]:
    """The share of ``ref`` found in ``answer`` (two decimals) and a reason that names what is missing."""
    if not ref:
        return 0.0, "there is no expected output or input to compare the answer with."
    found = ref & words(answer)
    missing = sorted(ref - found)
    reason = f"{len(found)} of {len(ref)} expected words appear in the answer"
    if missing:
        reason += f" (missing: {', '.join(missing[:8])}{', ...' if len(missing) > 8 else ''})"
    return round(len(found) / len(ref), 2), reason + "."


def _draw(prompt: str, seed: int, what: str) -> float:
    return random.Random(f"{seed}:{what}:{prompt}").random()


def verdict(prompt: str, *, bias: float | None = None, malformed: float | None = None, seed: int | None = None) -> str:
    """The judge's whole answer to ``prompt``, as text (JSON in the normal case)."""
    seed = seed or 0
    if malformed and _draw(prompt, seed, "malformed") < malformed:
        return MALFORMED[int(_draw(prompt, seed, "kind") * len(MALFORMED))]
    ref = reference(prompt)
    first, second = section(prompt, "answer_1"), section(prompt, "answer_2")
    if first is not None and second is not None:
        if bias and _draw(prompt, seed, "bias") < bias:
            return json.dumps({"winner": "1", "reason": "the first answer reads better."})
        one, two = len(ref & words(first)), len(ref & words(second))
        winner = "1" if one > two else "2" if two > one else "tie"
        return json.dumps({"winner": winner, "reason": f"answer 1 has {one} and answer 2 has {two} of the "
                                                       f"{len(ref)} expected words."})
    actual = section(prompt, "actual_output")
    if actual is not None:
        value, reason = score(actual, ref)
        return json.dumps({"score": value, "reason": reason})
    return ("judge-bot needs an <actual_output> section (or <answer_1> and <answer_2>) and an <expected_output> "
            "or <input> section, each tag on a line of its own.")


def answer_for(prompt: str, faults: Any) -> str:
    """:func:`verdict` with the judge faults of the request (a :class:`.faults.Faults`)."""
    return verdict(prompt, bias=getattr(faults, "judge_bias", None), malformed=getattr(faults, "judge_malformed", None),
                   seed=getattr(faults, "judge_seed", None))
