"""What a sandbox deployment answers: deterministic text, reasoning, tool calls and retrievals derived from the prompt.

Pure functions with no HTTP in them, so the answer a prompt gets can be read (and
tested) apart from the wire shapes in :mod:`.orq` that carry it.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

#: One streamed token: a word with its trailing space, or a run of space.
TOKEN = re.compile(r"\S+\s*|\s+")


@dataclass
class Answer:
    text: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    retrievals: list[dict[str, Any]] | None = None
    finish_reason: str = "stop"
    prompt_tokens: int = 0

    @property
    def completion_tokens(self) -> int:
        """One token per streamed word, and a few per tool call."""
        return len(TOKEN.findall(self.text)) + len(TOKEN.findall(self.reasoning)) + 8 * len(self.tool_calls)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_of(body: dict[str, Any]) -> str:
    """The text the answer is built from: the last user message, else the inputs."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return _content_text(message.get("content")).strip()
    inputs = body.get("inputs") or {}
    return " ".join(f"{v}" for v in inputs.values()).strip()


_STOPWORDS = frozenset(
    ["the", "and", "for", "you", "are", "can", "not", "how", "what", "when", "where", "which", "with", "that", "this", "have", "from", "your", "does", "about", "should", "would", "could", "into", "there", "their", "them", "they", "was", "were", "will", "why", "who", "whom", "our", "out", "use", "get"]
)


def _keywords(prompt: str, n: int = 3) -> list[str]:
    words: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_-]{2,}", prompt):
        lower = word.lower()
        if lower not in words and lower not in _STOPWORDS:
            words.append(lower)
    return words[:n] or ["your", "question"][:n]


_CITY_AFTER = re.compile(r"\b(?:in|for|at|of)\s+([A-Z][\w'-]*(?:[ -](?:(?:de|da|do|del|la|le|upon)\s)?[A-Z][\w'-]*)*)")
_CITY_LOWER = re.compile(r"\b(?:in|for|at|of)\s+([a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)\s*[?.!]*$")
_CAPITALISED = re.compile(r"\b[A-Z][a-z][\w'-]*")
_NOT_CITIES = frozenset(["weather", "what", "how", "is", "the", "will", "tell", "forecast", "temperature", "today",
                         "tomorrow", "please", "hi", "hello", "it", "does", "do", "can", "should", "whats"])


def city_of(prompt: str) -> str:
    """The city a weather question names: "Weather in Paris?" gives "Paris", "rain in new york" "New York"."""
    match = _CITY_AFTER.search(prompt)
    if match:
        return match.group(1)
    match = _CITY_LOWER.search(prompt)
    if match:
        return match.group(1).title()
    names = [w for w in _CAPITALISED.findall(prompt) if w.lower() not in _NOT_CITIES]
    return names[-1] if names else "Amsterdam"


#: What the demo deployments know: (words a prompt may use, the fact). A word matches a prompt word it
#: equals or begins (``key`` matches ``keys``), so a case's expected output can be checked against an answer.
FACTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("key", "rotate", "rotation"), "API keys are rotated from Settings → API keys; the old key stays valid for 24 hours."),
    (("billing", "billed", "bill", "invoice", "cost", "price"),
     "Usage is billed per token at the end of each month; mock responses are never billed."),
    (("refund",), "Refunds go back to the original card within 5 business days if asked for within 30 days."),
    (("quota", "limit", "rate"), "Each workspace may send 1,000 requests per minute; a 429 answer says when to retry."),
    (("export",), "Exports are CSV or JSON files from Logs → Export, kept for 7 days."),
    (("team", "member", "invite", "seat"), "Team members are invited from Settings → Members; admins change roles."),
    (("webhook",), "Webhooks send a signed POST for each event; check the signature header before trusting it."),
    (("gold", "tier", "plan"), "Gold customers get priority support within 4 hours; free customers get community support."),
    (("deploy", "version", "rollback"), "A deployment can be rolled back to any earlier version from its Versions tab."),
    (("stream",), "Streamed answers arrive as server-sent events that end with [DONE]."),
    (("cache",), "Cached answers are replayed for identical requests and are never billed."),
    (("password", "login", "sign"), "A forgotten password is reset from the sign-in page; the link expires after one hour."),
)

#: How each demo deployment answers, so a judge has something to tell apart: ``thorough`` states every fact
#: the prompt touches, ``terse`` one short line, ``misses`` often leaves facts out. A system message with
#: "terse"/"brief"/"concise"/"short" or "thorough"/"detailed" chooses the style of one call (for variants).
STYLES = {"support-bot": "thorough", "summarizer": "terse", "code-helper": "misses", "reasoner": "thorough",
          "rag-bot": "thorough"}
_STYLE_WORDS = (("terse", ("terse", "brief", "concise", "short")), ("thorough", ("thorough", "detailed")))


def facts_for(prompt: str) -> list[str]:
    """The facts whose words the prompt uses, in :data:`FACTS` order."""
    prompt_words = {w.lower() for w in re.findall(r"[A-Za-z]+", prompt)}
    return [fact for triggers, fact in FACTS
            if any(w == t or (w.startswith(t) and len(w) - len(t) <= 3) for w in prompt_words for t in triggers)]


def style_of(key: str, body: dict[str, Any]) -> str:
    """The deployment's own style, unless a system message asks for another."""
    for message in body.get("messages") or []:
        if message.get("role") in ("system", "developer"):
            text = _content_text(message.get("content")).lower()
            for style, cues in _STYLE_WORDS:
                if any(re.search(rf"\b{cue}", text) for cue in cues):
                    return style
    return STYLES.get(key, "thorough")


def compose(key: str, body: dict[str, Any], faults: Any = None) -> Answer:
    prompt = prompt_of(body)
    options = body.get("invoke_options") or {}
    words = len(prompt.split()) + sum(len(_content_text(m.get("content")).split()) for m in body.get("prefix_messages") or [])
    answer = Answer(prompt_tokens=max(1, round(words * 1.3)) + 12)
    if isinstance(options.get("mock_response"), str):
        answer.text = options["mock_response"]
        return answer
    if key == "judge-bot":
        from .judge import answer_for

        answer.text = answer_for(prompt, faults)
        return answer
    topic = " ".join(_keywords(prompt, 3))
    seed = zlib.crc32(f"{key}:{prompt}".encode())
    if key == "weather-agent":
        city = city_of(prompt)
        answer.tool_calls = [{"id": f"call_{seed:08x}", "type": "function",
                              "function": {"name": "get_weather", "arguments": json.dumps({"city": city, "unit": "celsius"})}}]
        answer.finish_reason = "tool_calls"
        return answer
    if key == "reasoner":
        answer.reasoning = (f"The user asks about {topic}. I should list the facts first, "
                            "then check each one, then answer briefly.")
    if key == "rag-bot":
        docs = body.get("documents") or [
            {"text": "API keys can be rotated from Settings → API keys; old keys stay valid for 24 hours.",
             "metadata": {"file_name": "security.md", "file_type": "text/markdown", "page_number": 1}},
            {"text": "Usage is billed per token; mock responses are never billed.",
             "metadata": {"file_name": "billing.pdf", "file_type": "application/pdf", "page_number": 3}},
        ]
        if options.get("include_retrievals"):
            answer.retrievals = [
                {"document": d["text"], "metadata": {**(d.get("metadata") or {}), "search_score": round(0.92 - 0.1 * i, 2), "rerank_score": round(0.88 - 0.15 * i, 2)}}
                for i, d in enumerate(docs)
            ]
    style = style_of(key, body)
    if style == "terse":
        answer.text = _terse(prompt, topic, body.get("inputs") or {})
    else:
        answer.text = _markdown(key, prompt, topic, body.get("inputs") or {}, seed, style)
    return answer


def _terse(prompt: str, topic: str, inputs: dict[str, Any]) -> str:
    """A title and one short line: the first clause of the first fact the prompt touches, else its topic."""
    facts = facts_for(prompt)
    line = facts[0].split(";")[0].rstrip(".") + "." if facts else f"In short: {topic or 'your question'}."
    title = " ".join(w.capitalize() for w in topic.split()) or "Your Question"
    lines = [f"## {title}", "", line, ""] + [f"- **{k}**: {v}" for k, v in inputs.items()] + [""] * bool(inputs)
    return "\n".join([*lines, "*Simulated by the orqmagic sandbox: no model was called.*"])


def _markdown(key: str, prompt: str, topic: str, inputs: dict[str, Any], seed: int, style: str) -> str:
    title = " ".join(w.capitalize() for w in topic.split()) or "Your Question"
    quoted = (prompt[:117] + "...") if len(prompt) > 120 else prompt
    steps = [
        f"Start with **{w}**: check what the deployment was told about it." if i == 0
        else f"Compare **{w}** against the documentation and note any gap." if i == 1
        else f"Write down how **{w}** should be judged, so answers can be scored."
        for i, w in enumerate(_keywords(prompt, 6) if style == "thorough" else topic.split()[:1])
    ]
    lines = [f"## {title}", ""]
    lines.append(f"You asked: *{quoted}*" if quoted else "You sent no prompt text.")
    lines += ["", f"This is a simulated answer from the `{key}` sandbox deployment: it is built from your "
              "prompt, so the same prompt always gives the same text.", ""]
    if inputs:
        lines += ["Inputs used:", ""] + [f"- **{k}**: {v}" for k, v in inputs.items()] + [""]
    facts = facts_for(prompt)
    if style == "misses":  # each fact left out on a coin flip of the prompt's seed: "often misses facts"
        facts = [f for i, f in enumerate(facts) if (seed >> i) & 1]
    if facts:
        lines += ["What to know:", ""] + [f"- {f}" for f in facts] + [""]
    lines += ["Steps to follow:", ""] + [f"{i}. {s}" for i, s in enumerate(steps, 1)] + [""]
    slug = re.sub(r"[^a-z0-9]+", "_", topic.lower()).strip("_") or "answer"
    lines += ["```python", f"def {slug}(question: str) -> str:", f'    return "sandbox answer #{seed % 1000}"', "```", ""]
    lines.append("*Simulated by the orqmagic sandbox: no model was called.*")
    return "\n".join(lines)
